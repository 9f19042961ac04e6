package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
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
	rebase       bool
}

func newBuildCmd(a *app) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build [SLUG...] [--all]",
		Short: "Build bottles' images headless, many at once (for CI)",
		Long: "Builds each named bottle's image from its plan: its own Dockerfile override with the\n" +
			"repo root as context, else the repo's Dockerfile as " + bottle.BaseImage + ", built once\n" +
			"however many bottles use it. Exits 0 only if every bottle built.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBuild(cmd, args, &o)
		},
	}
	o.driverFlags.bind(cmd)
	o.requestFlags.bind(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.all, "all", false, "build every bottle that has state")
	fl.IntVarP(&o.jobs, "jobs", "j", 2, "how many builds run at once")
	fl.StringVar(&o.progress, "progress", "auto", "progress output: auto, tty, plain, rawjson or quiet")
	fl.StringVar(&o.metadataFile, "metadata-file", "", "write each bottle's result as JSON to this file")
	fl.BoolVar(&o.rebase, "rebase", false, "first render the override of each bottle whose base changed again, build it and swap it in (`capability rebase`)")
	return cmd
}

func (a *app) runBuild(cmd *cobra.Command, args []string, o *buildOptions) error {
	if err := o.check(args); err != nil {
		return err
	}
	var tmpl driver.Request
	if err := o.requestFlags.apply(&tmpl); err != nil {
		return err
	}
	s, err := a.settings(&o.driverFlags)
	if err != nil {
		return err
	}
	plans, err := a.plans(args, o.all, s)
	if err != nil {
		return err
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := cmd.Context()
	name, why, err := a.chooseDriver(ctx, src, s)
	if err != nil {
		return err
	}
	b, err := openDriver(ctx, src, name, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.io.err, "building %d bottle(s) with driver %s (%s)\n", len(plans), name, why)
	printer, err := a.newPrinter(ctx, o.progress)
	if err != nil {
		return err
	}
	plans, rebaseErr := a.checkStale(ctx, plans, o.rebase, s, b, printer)
	label := func(l string) driver.Sink { return progress.Label(l, printer) }
	if len(plans) == 1 {
		label = func(string) driver.Sink { return printer }
	}
	store, err := a.store()
	if err != nil {
		return err
	}
	outs, err := batch.BuildHeld(ctx, store, plans, batch.Options{
		Jobs: o.jobs, Builder: b, Driver: name, Sink: label, Request: tmpl,
	}, func(slug string) {
		fmt.Fprintf(a.io.err, "waiting for a change to bottle %s to finish before building it\n", slug)
	})
	printer.Wait()
	if err != nil {
		return err
	}
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
	if err := a.reportBuild(outs); err != nil {
		return err
	}
	return rebaseErr
}

// checkStale says which bottles' overrides are stale (their base changed
// since they were rendered) and, with --rebase, rebases them first, each
// built then swapped in. A bottle whose rebase fails is left out of the
// build, and the first such failure is returned to fail the command.
func (a *app) checkStale(ctx context.Context, plans []*bottle.Plan, rebase bool, s config.Settings, b driver.Builder, sink driver.Sink) ([]*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return plans, err
	}
	var kept []*bottle.Plan
	var first error
	var eng capability.Engine
	for _, p := range plans {
		st, err := capability.Inspect(store, p.Slug, p.Repo)
		if err != nil || !st.Stale {
			kept = append(kept, p)
			continue
		}
		if !rebase {
			fmt.Fprintf(a.io.err, "bottle %s: %s (or build with --rebase)\n", p.Slug, st.Hint())
			kept = append(kept, p)
			continue
		}
		if eng == nil {
			var closeEngine func()
			if eng, closeEngine, err = a.engine(s); err != nil {
				return plans, err
			}
			defer closeEngine()
		}
		res, err := capability.Rebase(ctx, capability.Options{Store: store, Plan: p, Builder: b, Engine: eng, Sink: progress.Label(p.Slug+" rebase", sink)})
		if err != nil {
			fmt.Fprintf(a.io.err, "bottle %s: rebase failed, not built: %s\n", p.Slug, errorLine(err))
			if first == nil {
				first = fmt.Errorf("bottle %s: %w", p.Slug, err)
			}
			continue
		}
		fmt.Fprintf(a.io.err, "bottle %s: rebased on its changed base: %s (%s)\n", p.Slug, res.Image, shortID(res.ImageAfter))
		kept = append(kept, p)
	}
	return kept, first
}

func (o *buildOptions) check(args []string) error {
	switch {
	case o.all && len(args) > 0:
		return usageErr(errors.New("name bottles or pass --all, not both"))
	case !o.all && len(args) == 0:
		return usageErr(errors.New("build needs bottle slugs or --all; see `claude-bottle build --help`"))
	case o.jobs < 1:
		return usageErr(fmt.Errorf("--jobs %d: want 1 or more", o.jobs))
	}
	return nil
}

// plans resolves the plan of each named bottle, or of every bottle with
// state; slugs named twice are built once.
func (a *app) plans(slugs []string, all bool, s config.Settings) ([]*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	if all {
		if slugs, err = store.List(); err != nil {
			return nil, err
		}
		if len(slugs) == 0 {
			return nil, usageErr(fmt.Errorf("--all: no bottle has state in %s yet; name bottles to build", store.StateDir()))
		}
	}
	seen := map[string]bool{}
	var plans []*bottle.Plan
	for _, slug := range slugs {
		if seen[slug] {
			continue
		}
		seen[slug] = true
		p, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: s.Repo, RepoFrom: s.RepoFrom})
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// writeMetadata writes outcomes keyed by slug, atomically.
func writeMetadata(path string, outs []batch.Outcome) error {
	m := make(map[string]batch.Outcome, len(outs))
	for _, o := range outs {
		m[o.Slug] = o
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("--metadata-file: %w", err)
	}
	return nil
}

// reportBuild prints one line a bottle, and a table of the failures.
func (a *app) reportBuild(outs []batch.Outcome) error {
	failed := batch.Failed(outs)
	if len(failed) == 0 {
		tw := tabwriter.NewWriter(a.io.out, 0, 0, 2, ' ', 0)
		for _, o := range outs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d steps cached\t%.1fs\n", o.Slug, o.Image, shortID(o.ImageID), o.Steps.Cached, o.Steps.Total, o.Duration)
		}
		return tw.Flush()
	}
	if len(outs) == 1 {
		return fmt.Errorf("bottle %s (%s from %s): %w", failed[0].Slug, failed[0].Image, failed[0].Dockerfile, failed[0].Err)
	}
	tw := tabwriter.NewWriter(a.io.err, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAILED BOTTLE\tIMAGE\tFIRST ERROR LINE")
	for _, o := range failed {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Slug, o.Image, o.FirstLine())
	}
	tw.Flush()
	return fmt.Errorf("%d of %d bottles failed to build (see the table above); the first, %s: %w", len(failed), len(outs), failed[0].Slug, failed[0].Err)
}

func shortID(id string) string {
	const prefix = "sha256:"
	if len(id) > len(prefix)+12 && id[:len(prefix)] == prefix {
		return id[len(prefix) : len(prefix)+12]
	}
	return id
}
