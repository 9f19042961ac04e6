package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/progress"
)

// buildOptions are the flags of `claude-bottle build`.
type buildOptions struct {
	driverFlags
	requestFlags
	all          bool
	jobs         int
	progress     string
	metadataFile string
	pushName     string
	load         bool
	rebase       bool
	file         string
	print        bool
	cacheExport  bool
	force        bool
}

const buildLong = `Builds each named bottle's image from its plan: its own Dockerfile override with the
repo root as context, else the repo's Dockerfile as ` + bottle.BaseImage + `, built once
however many bottles use it. Every bottle is reported in a table on stdout, built or
not; --metadata-file writes the same as JSON (its schema is in the README).

Exit codes: 0 when every bottle built; 1 when any bottle failed (the others are
still built); 2 when the command itself is refused before anything is built: a bad
flag, a Dockerfile that does not parse, --push without a push name, two bottles
writing to one destination, a request the driver cannot honour.

Outputs and pushes: --output replaces loading the image into the Docker engine,
so the engine keeps the image it had (add --load to load it too). {slug} in an
--output dest= or name=, or a --cache-to/--cache-from dest=, src= or ref=, is each
bottle's slug; two bottles with one destination are refused. --push pushes each
bottle's image as the name --push-name (or [push] name in config.toml) gives it,
such as 'registry.example:5000/team/{image}:{tag}' ({slug}, {image}, {tag}); a
name must start with a registry host, so nothing goes to Docker Hub unasked.

A bottle whose image is up to date (nothing it depends on changed since its last
build here: the Dockerfile, the options, the context's files, the images it starts
from, the driver, and the engine still has that image under the tag) is reported
up-to-date and not built; --force or --no-cache builds it anyway.

A bottles file (--file bottles.toml) lists the bottles to build, each with its own
build_args, labels, target, push_name, cache_from and cache_to over [defaults];
flags given on the command line win over it. --print shows each bottle's build as
JSON, resolved, and builds nothing.

A pool of buildkitds ([buildkit] pool in config.toml, or --buildkit-addr given more than
once) takes each build on one member, chosen by rendezvous hashing on the bottle's base
Dockerfile, at most 1.25x a member's share of the batch; a member that dies mid-build has
its build retried once on the next. The summary names each bottle's member and why. With
[buildkit] cache, every build imports its base's and its bottle's registry cache;
--cache-export writes them (mode=max): let one writer (CI) do it.`

func newBuildCmd(a *app) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [SLUG...] [--all]",
		Short: "Build bottles' images headless, many at once (for CI)",
		Long:  buildLong,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBuild(cmd, args, &o)
		},
	}
	o.driverFlags.bind(cmd)
	o.requestFlags.bind(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.all, "all", false, "build every bottle that has state")
	fl.IntVarP(&o.jobs, "jobs", "j", 2, "how many builds run at once")
	fl.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, rawjson or quiet ($BUILDKIT_PROGRESS stands in for auto)")
	fl.StringVar(&o.metadataFile, "metadata-file", "", "write each bottle's result as JSON to this file (schema in the README)")
	fl.StringVar(&o.pushName, "push-name", "", "with --push, the name each image is pushed as: REGISTRY/REPO/{image}:{tag}, with {slug}, {image}, {tag} (default [push] name in config.toml)")
	fl.BoolVar(&o.load, "load", false, "with --output, load the image into the Docker engine too (--output alone leaves the engine's image as it was)")
	fl.StringVarP(&o.file, "file", "f", "", "bottles file: the bottles to build and the settings of each (see the help above)")
	fl.BoolVar(&o.cacheExport, "cache-export", false, "export each build's cache (mode=max) to the shared cache, [buildkit] cache in config.toml; let one writer (CI) do it, as concurrent writers of one tag race")
	fl.BoolVar(&o.print, "print", false, "print each bottle's build as JSON, resolved, and build nothing")
	fl.BoolVar(&o.force, "force", false, "build every bottle even when nothing its image depends on changed (--no-cache also rebuilds, without the cache)")
	fl.BoolVar(&o.rebase, "rebase", false, "first render the override of each bottle whose base changed again, build it and swap it in (`capability rebase`)")
	fl.Lookup("output").Usage = "output instead of loading into the Docker engine: type=oci|docker|local|tar,dest=PATH or type=registry,name=REF ({slug} allowed; add --load to load too)"
	fl.Lookup("push").Usage = "push each bottle's image as its --push-name"
	return cmd
}

// buildRun is one run of build: what was decided before anything is built.
type buildRun struct {
	o     *buildOptions
	mode  progressui.DisplayMode
	plans []*bottle.Plan
	batch batch.Options
}

// chatty reports whether lines for people go to stderr: not in rawjson
// (a program reads it) nor quiet mode, as buildx.
func (r *buildRun) chatty() bool {
	return r.mode != progressui.RawJSONMode && r.mode != progressui.QuietMode
}

func (a *app) runBuild(cmd *cobra.Command, args []string, o *buildOptions) error {
	ctx := cmd.Context()
	r, s, err := a.prepareBuild(args, o)
	if err != nil {
		return err
	}
	if o.print {
		return a.printBuild(r)
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	name, why, err := a.chooseDriver(ctx, src, s)
	if err != nil {
		return err
	}
	b, err := openDriver(ctx, src, name, s)
	if err != nil {
		return err
	}
	r.batch.Builder, r.batch.Driver = b, name
	r.batch.UpToDate = upToDate(s, o.force)
	if err := batch.Check(ctx, r.plans, r.batch); err != nil {
		return err // bad input: nothing was built
	}
	if r.chatty() {
		a.noteNoState(r.plans)
		fmt.Fprintf(a.io.err, "building %d bottle(s) with driver %s (%s)\n", len(r.plans), name, why)
	}
	printer, err := a.newPrinter(ctx, o.progress)
	if err != nil {
		return err
	}
	r.batch.Sink = func(l string) driver.Sink { return printer }
	if len(r.plans) > 1 {
		r.batch.Sink = printer.Label
	}
	plans, skipped := a.checkStale(ctx, r, s, b, printer)
	outs, err := a.buildHeld(ctx, r, plans)
	printer.Wait()
	if err != nil {
		return err
	}
	outs = inOrder(r.plans, append(outs, skipped...))
	for _, out := range outs {
		if out.RecordErr != nil {
			fmt.Fprintf(a.io.err, "bottle %s: built, but recording the build failed: %s\n", out.Slug, errorLine(out.RecordErr))
		}
	}
	if o.metadataFile != "" {
		if err := writeMetadata(o.metadataFile, outs); err != nil {
			return err
		}
	}
	return a.reportBuild(r, outs)
}

// prepareBuild checks everything the command line says before any driver
// is started: flags, the push name, the plans and the metadata file.
func (a *app) prepareBuild(args []string, o *buildOptions) (*buildRun, config.Settings, error) {
	if err := o.check(args); err != nil {
		return nil, config.Settings{}, err
	}
	mode, err := progress.ParseMode(o.progress, os.Getenv(progress.EnvMode), a.io.errTerminal)
	if err != nil {
		return nil, config.Settings{}, usageErr(fmt.Errorf("--progress: %w", err))
	}
	r := &buildRun{o: o, mode: mode, batch: batch.Options{Jobs: o.jobs}}
	if err := o.requestFlags.apply(&r.batch.Request); err != nil {
		return nil, config.Settings{}, err
	}
	if o.load && len(r.batch.Request.Outputs) > 0 {
		r.batch.Request.Outputs = append(r.batch.Request.Outputs, driver.LoadOutput())
	}
	s, err := a.settings(&o.driverFlags)
	if err != nil {
		return nil, s, err
	}
	if err := driver.CheckExposure(s.DriverConfig, r.batch.Request); err != nil {
		return nil, s, err
	}
	if r.batch.PushName, err = pushName(o, s); err != nil {
		return nil, s, err
	}
	if o.cacheExport && s.Cache == "" {
		return nil, s, usageErr(errors.New("--cache-export: no shared cache to export to; set [buildkit] cache = \"REGISTRY/REPO\" in config.toml"))
	}
	r.batch.Cache, r.batch.CacheExport = s.Cache, o.cacheExport
	if args, err = r.fromFile(args); err != nil {
		return nil, s, err
	}
	if r.plans, err = a.plans(args, o.all, s, ""); err != nil {
		return nil, s, err
	}
	if o.metadataFile != "" {
		if err := checkWritable(o.metadataFile); err != nil {
			return nil, s, usageErr(fmt.Errorf("--metadata-file: %w", err))
		}
	}
	return r, s, nil
}

// pushName is the push name template, from --push-name or the config,
// checked when it will be used.
func pushName(o *buildOptions, s config.Settings) (string, error) {
	tmpl, from := o.pushName, "--push-name"
	if tmpl == "" {
		tmpl, from = s.PushName, s.PushNameFrom
	}
	if tmpl == "" || (!o.push && o.pushName == "") {
		return tmpl, nil
	}
	if err := bottle.CheckPushName(tmpl); err != nil {
		return "", usageErr(fmt.Errorf("%s: %w", from, err))
	}
	return tmpl, nil
}

// checkWritable makes sure a file can be written at path, before any
// build: a folder to write it in, and no folder in its place.
func checkWritable(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%q is a folder; name a file", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".claude-bottle-check-*")
	if err != nil {
		return fmt.Errorf("cannot write beside %q: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// buildHeld builds plans with their capability state held.
func (a *app) buildHeld(ctx context.Context, r *buildRun, plans []*bottle.Plan) ([]batch.Outcome, error) {
	if len(plans) == 0 {
		return nil, nil
	}
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	return batch.BuildHeld(ctx, store, plans, r.batch, func(slug string) {
		if r.chatty() {
			fmt.Fprintf(a.io.err, "waiting for a change to bottle %s to finish before building it\n", slug)
		}
	})
}

// inOrder puts outcomes in the order of the plans.
func inOrder(plans []*bottle.Plan, outs []batch.Outcome) []batch.Outcome {
	bySlug := map[string]batch.Outcome{}
	for _, o := range outs {
		bySlug[o.Slug] = o
	}
	res := make([]batch.Outcome, 0, len(plans))
	for _, p := range plans {
		if o, ok := bySlug[p.Slug]; ok {
			res = append(res, o)
		}
	}
	return res
}

// checkStale says which bottles' overrides are stale (their base changed
// since they were rendered) and, with --rebase, rebases them first, each
// built then swapped in. A bottle whose rebase fails is left out of the
// build, with a skipped outcome saying why.
func (a *app) checkStale(ctx context.Context, r *buildRun, s config.Settings, b driver.Builder, printer *progress.Printer) ([]*bottle.Plan, []batch.Outcome) {
	store, err := a.store()
	if err != nil {
		return r.plans, nil
	}
	var kept []*bottle.Plan
	var skipped []batch.Outcome
	var eng capability.Engine
	for _, p := range r.plans {
		st, err := capability.Inspect(store, p.Slug, p.Repo)
		if err != nil || !st.Stale {
			kept = append(kept, p)
			continue
		}
		if !r.o.rebase {
			if r.chatty() {
				fmt.Fprintf(a.io.err, "bottle %s: %s (or build with --rebase)\n", p.Slug, st.Hint())
			}
			kept = append(kept, p)
			continue
		}
		if eng == nil {
			var closeEngine func()
			if eng, closeEngine, err = a.engine(s); err != nil {
				skipped = append(skipped, batch.Skipped(p, r.batch.Driver, err))
				continue
			}
			defer closeEngine()
		}
		res, err := capability.Rebase(ctx, capability.Options{Store: store, Plan: p, Builder: b, Engine: eng, Sink: printer.Label(p.Slug + " rebase")})
		if err != nil {
			skipped = append(skipped, batch.Skipped(p, r.batch.Driver, fmt.Errorf("rebase failed, not built: %w", err)))
			continue
		}
		if r.chatty() {
			fmt.Fprintf(a.io.err, "bottle %s: rebased on its changed base: %s (%s)\n", p.Slug, res.Image, shortID(res.ImageAfter))
		}
		kept = append(kept, p)
	}
	return kept, skipped
}

func (o *buildOptions) check(args []string) error {
	switch {
	case o.all && len(args) > 0:
		return usageErr(errors.New("name bottles or pass --all, not both"))
	case o.all && o.file != "":
		return usageErr(errors.New("--file lists the bottles to build: pass --all or --file, not both"))
	case !o.all && len(args) == 0 && o.file == "":
		return usageErr(errors.New("build needs bottle slugs, --all or --file; see `claude-bottle build --help`"))
	case o.jobs < 1:
		return usageErr(fmt.Errorf("--jobs %d: want 1 or more", o.jobs))
	case o.load && len(o.outputs) == 0:
		return usageErr(errors.New("--load goes with --output (without one, the image is loaded anyway)"))
	}
	return nil
}

// fromFile reads the bottles file, if any: the bottles to build when none
// are named, and the settings of each. A flag given on the command line
// wins over the file (the request's own values win in the batch; a
// --push-name over each bottle's push_name).
func (r *buildRun) fromFile(args []string) ([]string, error) {
	if r.o.file == "" {
		return args, nil
	}
	f, err := batch.ReadFile(r.o.file)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		args = f.Slugs()
	}
	r.batch.Bottles = map[string]batch.Settings{}
	for _, slug := range args {
		own, ok := f.For(slug)
		if !ok {
			return nil, usageErr(fmt.Errorf("--file %s does not list bottle %q (it lists %s); add a [bottles.%s] table or leave the slug out", r.o.file, slug, strings.Join(f.Slugs(), ", "), slug))
		}
		if r.o.pushName != "" {
			own.PushName = ""
		} else if own.PushName != "" && r.o.push {
			if err := bottle.CheckPushName(own.PushName); err != nil {
				return nil, usageErr(fmt.Errorf("--file %s: bottle %s: %w", r.o.file, slug, err))
			}
		}
		r.batch.Bottles[slug] = own
	}
	return args, nil
}

// printBuild prints each bottle's build, resolved, as JSON keyed by slug
// (as `docker buildx bake --print` shows its targets), and builds nothing.
func (a *app) printBuild(r *buildRun) error {
	planned, err := batch.Plan(r.plans, r.batch)
	if err != nil {
		return err
	}
	byslug := make(map[string]batch.Planned, len(planned))
	for _, p := range planned {
		byslug[p.Slug] = p
	}
	return writeJSON(a.io.out, map[string]any{"bottles": byslug})
}
