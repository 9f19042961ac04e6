package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/launch"
)

func init() { commands = append(commands, newCapabilityCmd) }

func newCapabilityCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "capability",
		Short: "Change what a bottle's image adds to its base: approved capabilities, built then swapped in",
		Long: "A bottle's override is rendered from its base Dockerfile (the repo's, or its own set with\n" +
			"`state set-dockerfile`) and its capabilities, never edited by hand. Every change builds the\n" +
			"new image first and moves the bottle's tag only when the build succeeds; the image it\n" +
			"replaces stays as claude-bottle-rebuilt-SLUG:previous, and `capability rollback` goes back.",
	}
	cmd.AddCommand(a.newCapabilityAddCmd(), a.newCapabilityListCmd(), a.newCapabilityRemoveCmd(),
		a.newCapabilityShowCmd(), a.newCapabilityRebaseCmd(), a.newCapabilityRollbackCmd(), a.newCapabilityLogCmd())
	groupCommand(cmd)
	return cmd
}

// changeFlags are the flags of every command that changes capabilities.
type changeFlags struct {
	driverFlags
	requestFlags
	noBuild  bool
	progress string
}

func (f *changeFlags) bind(cmd *cobra.Command, noBuild bool) {
	f.driverFlags.bind(cmd)
	f.requestFlags.bind(cmd)
	if noBuild {
		cmd.Flags().BoolVar(&f.noBuild, "no-build", false, "record the change without building; the bottle needs `claude-bottle build SLUG` (for CI)")
	}
	cmd.Flags().StringVar(&f.progress, "progress", "auto", "build progress output: auto, tty, plain, rawjson or quiet")
}

// addOptions are the flags of `capability add`.
type addOptions struct {
	changeFlags
	run, packages, hosts []string
	file                 string
	user, reason         string
}

func (a *app) newCapabilityAddCmd() *cobra.Command {
	var o addOptions
	cmd := &cobra.Command{
		Use:   "add SLUG NAME (--run CMD... | --file SNIPPET | --package PKG... | --host HOST[:PORT]...) [--user U] [--reason TEXT] [--no-build]",
		Short: "Add a capability to the end of the bottle's list, build, then swap the image in",
		Args:  exactArgs(2, "SLUG and NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runCapabilityAdd(cmd, args[0], args[1], &o)
		},
	}
	o.changeFlags.bind(cmd, true)
	fl := cmd.Flags()
	fl.StringArrayVar(&o.run, "run", nil, "a command to RUN (repeatable, one RUN each)")
	fl.StringVar(&o.file, "file", "", "a file of Dockerfile instructions (- for standard input); no FROM")
	fl.StringSliceVar(&o.packages, "package", nil, "packages to install with the base's package manager (apt, apk or dnf)")
	fl.StringSliceVar(&o.hosts, "host", nil, "hosts the bottle may reach through its proxy, host or host:port (a host alone: ports 80 and 443); nothing is built and a running bottle may reach them at once")
	fl.StringVar(&o.user, "user", capability.DefaultUser, "the user the instructions run as (the image's final user is restored after them)")
	fl.StringVar(&o.reason, "reason", "", "why the bottle needs it (one line, kept in the list and the override)")
	return cmd
}

func (a *app) runCapabilityAdd(cmd *cobra.Command, slug, name string, o *addOptions) error {
	if n := btoi(len(o.run) > 0) + btoi(o.file != "") + btoi(len(o.packages) > 0) + btoi(len(o.hosts) > 0); n != 1 {
		return usageErr(errors.New("capability add takes exactly one of --run, --file, --package or --host"))
	}
	if _, err := allow.ParseRules("--host", o.hosts); err != nil {
		return usageErr(err)
	}
	if len(o.hosts) > 0 {
		o.noBuild = true // egress adds nothing to the image: no driver to open
	}
	c := capability.Capability{Name: name, User: o.user, Reason: o.reason}
	if err := capability.ValidateName(name); err != nil {
		return err
	}
	if err := capability.ValidateReason(o.reason); err != nil {
		return err
	}
	if err := capability.ValidateUser(o.user); err != nil {
		return err
	}
	ch, err := a.newChange(cmd, slug, &o.changeFlags)
	if err != nil {
		return err
	}
	defer ch.close()
	if o.file != "" {
		c.Instructions, err = a.readSnippet(o.file)
	} else {
		var composed capability.Capability
		composed, err = capability.Compose(ch.opts.Store, ch.opts.Plan, name, capability.Spec{Run: o.run, Packages: o.packages, Hosts: o.hosts})
		c.Kind, c.Instructions = composed.Kind, composed.Instructions
	}
	if err != nil {
		return err
	}
	if len(o.packages) > 0 {
		fmt.Fprintf(a.io.err, "installing with the base's package manager: %s", c.Instructions)
	}
	if err := capability.Check(ch.opts, capability.Change{Action: capability.ActionAdd, Capability: c}); err != nil {
		return err
	}
	opts, err := ch.start()
	if err != nil {
		return err
	}
	return ch.report(capability.Add(cmd.Context(), opts, c))
}

// readSnippet reads --file: a path, or - for standard input.
func (a *app) readSnippet(path string) (string, error) {
	r, name := a.io.in, "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", usageErr(fmt.Errorf("--file: %w; give a readable file of Dockerfile instructions, or - for standard input", err))
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
			return "", usageErr(fmt.Errorf("--file %q is not a regular file", path))
		}
		r, name = f, path
	}
	data, err := io.ReadAll(io.LimitReader(r, capability.MaxInstructions+1))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	return string(data), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
func (a *app) newCapabilityRemoveCmd() *cobra.Command {
	var f changeFlags
	cmd := &cobra.Command{
		Use:   "remove SLUG NAME [--no-build]",
		Short: "Remove a capability, build, then swap the image in (the last one of a repo-based bottle returns it to claude-bottle:latest)",
		Args:  exactArgs(2, "SLUG and NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := capability.ValidateName(args[1]); err != nil {
				return err
			}
			ch, err := a.newChange(cmd, args[0], &f)
			if err != nil {
				return err
			}
			defer ch.close()
			if err := capability.Check(ch.opts, capability.Change{Action: capability.ActionRemove, Name: args[1]}); err != nil {
				return err
			}
			opts, err := ch.start()
			if err != nil {
				return err
			}
			return ch.report(capability.Remove(cmd.Context(), opts, args[1]))
		},
	}
	f.bind(cmd, true)
	return cmd
}

func (a *app) newCapabilityRebaseCmd() *cobra.Command {
	var f changeFlags
	cmd := &cobra.Command{
		Use:   "rebase SLUG [--no-build]",
		Short: "Render the override again on the current base (after the repo's Dockerfile changed), build, then swap",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := a.newChange(cmd, args[0], &f)
			if err != nil {
				return err
			}
			defer ch.close()
			if err := capability.Check(ch.opts, capability.Change{Action: capability.ActionRebase}); err != nil {
				return err
			}
			opts, err := ch.start()
			if err != nil {
				return err
			}
			return ch.report(capability.Rebase(cmd.Context(), opts))
		},
	}
	f.bind(cmd, true)
	return cmd
}

func (a *app) newCapabilityRollbackCmd() *cobra.Command {
	var f driverFlags
	cmd := &cobra.Command{
		Use:   "rollback SLUG",
		Short: "Go back one step: the list, the override and the image together (again to go forward)",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cf := &changeFlags{driverFlags: f, noBuild: true}
			ch, err := a.newChange(cmd, args[0], cf)
			if err != nil {
				return err
			}
			defer ch.close()
			if ch.opts.Engine, ch.closeEngine, err = a.engine(ch.settings); err != nil {
				return err
			}
			return ch.report(capability.Rollback(cmd.Context(), ch.opts))
		},
	}
	f.bind(cmd)
	return cmd
}

// change is one capability change being made: its options, and what the
// command opened for it.
type change struct {
	a           *app
	cmd         *cobra.Command
	opts        capability.Options
	settings    config.Settings
	flags       *changeFlags
	src         driverSource
	printer     interface{ Wait() error }
	closeEngine func()
}

// newChange resolves the bottle's plan and, unless --no-build, opens the
// driver, the engine and the progress display.
func (a *app) newChange(cmd *cobra.Command, slug string, f *changeFlags) (*change, error) {
	ch := &change{a: a, cmd: cmd, flags: f}
	var tmpl driver.Request
	if err := f.requestFlags.apply(&tmpl); err != nil {
		return nil, err
	}
	s, err := a.settings(&f.driverFlags)
	if err != nil {
		return nil, err
	}
	if err := driver.CheckExposure(s.DriverConfig, tmpl); err != nil {
		return nil, err
	}
	ch.settings = s
	p, err := a.resolve(slug, s)
	if err != nil {
		return nil, err
	}
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	ch.opts = capability.Options{
		Store: store, Plan: p, Request: tmpl, NoBuild: f.noBuild,
		Waiting: func() { fmt.Fprintf(a.io.err, "waiting for another change to bottle %s to finish\n", slug) },
	}
	return ch, nil
}

func (ch *change) openBuilder() error {
	ctx := ch.cmd.Context()
	src, err := ch.a.drivers(ch.settings)
	if err != nil {
		return err
	}
	ch.src = src
	name, why, err := ch.a.chooseDriver(ctx, src, ch.settings)
	if err != nil {
		return err
	}
	if ch.opts.Builder, err = openDriver(ctx, src, name, ch.settings); err != nil {
		return err
	}
	if ch.opts.Engine, ch.closeEngine, err = ch.a.engine(ch.settings); err != nil {
		return err
	}
	fmt.Fprintf(ch.a.io.err, "building bottle %s with driver %s (%s)\n", ch.opts.Plan.Slug, name, why)
	return nil
}

// start opens the driver, the engine and the progress display, unless
// --no-build, once the input is checked, and returns the options to apply
// the change with.
func (ch *change) start() (capability.Options, error) {
	if ch.flags.noBuild {
		return ch.opts, nil
	}
	if err := ch.openBuilder(); err != nil {
		return ch.opts, err
	}
	p, err := ch.a.newPrinter(ch.cmd.Context(), ch.flags.progress)
	if err != nil {
		return ch.opts, err
	}
	ch.opts.Sink, ch.printer = p, p
	return ch.opts, nil
}

func (ch *change) close() {
	if ch.printer != nil {
		ch.printer.Wait()
		ch.printer = nil
	}
	if ch.closeEngine != nil {
		ch.closeEngine()
	}
	if ch.src != nil {
		ch.src.Close()
	}
}

// report prints what a change did, or the failed step's output before
// the error.
func (ch *change) report(res *capability.Result, err error) error {
	if ch.printer != nil {
		ch.printer.Wait()
		ch.printer = nil
	}
	var be *capability.BuildError
	if errors.As(err, &be) && len(be.Lines) > 0 {
		fmt.Fprintf(ch.a.io.err, "last output of step %q:\n", be.Step)
		for _, l := range be.Lines {
			fmt.Fprintf(ch.a.io.err, "  %s\n", l)
		}
	}
	if err != nil {
		return err
	}
	w := ch.a.io.out
	what := res.Action
	if res.Capability != "" {
		what += " " + fmt.Sprintf("%q", res.Capability)
	}
	switch {
	case res.NothingToBuild:
		fmt.Fprintf(w, "bottle %s: %s recorded; nothing to build, and a running bottle's proxy lets it through now\n", res.Slug, what)
	case !res.Built:
		fmt.Fprintf(w, "bottle %s: %s recorded, not built; run `claude-bottle build %s`\n", res.Slug, what, res.Slug)
	case res.Action == capability.ActionRollback:
		fmt.Fprintf(w, "bottle %s: rolled back; it runs on %s (%s), the image it left is %s\n", res.Slug, res.Image, shortID(res.ImageAfter), bottle.PreviousImage(res.Slug))
	default:
		fmt.Fprintf(w, "bottle %s: %s built and swapped in: %s (%s, %d/%d steps cached)\n", res.Slug, what, res.Image, shortID(res.ImageAfter), res.Steps.Cached, res.Steps.Total)
	}
	if res.Rebased {
		fmt.Fprintf(w, "bottle %s: the override is rendered on the changed base too\n", res.Slug)
	}
	return nil
}

// resolve makes a bottle's plan without choosing a driver.
func (a *app) resolve(slug string, s config.Settings) (*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	return bottle.Resolve(store, bottle.Options{Slug: slug, Repo: s.Repo, RepoFrom: s.RepoFrom})
}

// engine connects to the Docker engine for tag moves.
func (a *app) engine(s config.Settings) (capability.Engine, func(), error) {
	cli, err := launch.Connect(s.DriverConfig.DockerHost)
	if err != nil {
		return nil, nil, err
	}
	return capability.NewEngine(cli), func() { cli.Close() }, nil
}

func (a *app) newCapabilityListCmd() *cobra.Command {
	var f driverFlags
	var format string
	cmd := &cobra.Command{
		Use:   "list SLUG [--format text|json]",
		Short: "List the bottle's capabilities, in order, and whether its override is stale",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageErr(fmt.Errorf("--format %q: want text or json", format))
			}
			st, err := a.capabilityStatus(args[0], &f)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.io.out, st)
			}
			return writeCapabilities(a.io.out, st)
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// capabilityStatus inspects a bottle, checking its drift against the repo
// the flags, environment or config name, else the repo it was rendered
// from (nothing is unpacked: it writes nothing).
func (a *app) capabilityStatus(slug string, f *driverFlags) (*capability.Status, error) {
	repo, err := a.namedRepo(f)
	if err != nil {
		return nil, err
	}
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	return capability.Inspect(store, slug, repo)
}

// namedRepo returns the repo root the user named (flag, environment or
// config), absolute, or "" when none was named.
func (a *app) namedRepo(f *driverFlags) (string, error) {
	s, err := a.settings(f)
	if err != nil || s.Repo == "" {
		return "", err
	}
	return filepath.Abs(s.Repo)
}

func writeCapabilities(w io.Writer, st *capability.Status) error {
	if len(st.Capabilities) == 0 {
		fmt.Fprintf(w, "bottle %s has no capabilities; add one with `claude-bottle capability add %s NAME --run CMD`\n", st.Slug, st.Slug)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tUSER\tAPPROVED BY\tAPPROVED AT\tSOURCE\tREASON")
	for _, c := range st.Capabilities {
		src := c.Source.Kind
		if c.Source.RequestID != "" {
			src += " " + c.Source.RequestID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Kind, dash(c.User), c.ApprovedBy, c.ApprovedAt.Local().Format(time.DateTime), src, dash(c.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if h := st.Hint(); h != "" {
		fmt.Fprintln(w, h)
	}
	return nil
}

func (a *app) newCapabilityShowCmd() *cobra.Command {
	var f driverFlags
	cmd := &cobra.Command{
		Use:   "show SLUG",
		Short: "Show the bottle's rendered override as a unified diff against its base",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := a.namedRepo(&f)
			if err != nil {
				return err
			}
			store, err := a.store()
			if err != nil {
				return err
			}
			diff, err := capability.Show(store, args[0], repo)
			if err != nil {
				return err
			}
			if diff == "" {
				fmt.Fprintf(a.io.out, "bottle %s: no capability adds to its base\n", args[0])
				return nil
			}
			_, err = io.WriteString(a.io.out, diff)
			return err
		},
	}
	f.bind(cmd)
	return cmd
}

func (a *app) newCapabilityLogCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "log SLUG [--format text|json]",
		Short: "Show every change to the bottle's capabilities (its audit log)",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageErr(fmt.Errorf("--format %q: want text or json", format))
			}
			store, err := a.store()
			if err != nil {
				return err
			}
			log, err := capability.Log(store, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return writeJSON(a.io.out, log)
			}
			return writeLog(a.io.out, args[0], log)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeLog(w io.Writer, slug string, log []capability.Entry) error {
	if len(log) == 0 {
		fmt.Fprintf(w, "bottle %s: no capability change yet\n", slug)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tACTION\tCAPABILITY\tREQUEST\tIMAGE BEFORE\tIMAGE AFTER\tDETAIL")
	for _, e := range log {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), e.User, e.Action, dash(e.Capability),
			dash(e.RequestID), dash(shortID(e.ImageBefore)), dash(shortID(e.ImageAfter)), dash(e.Detail))
	}
	return tw.Flush()
}

// capabilityNames lists a status's capability names for one-line
// summaries.
func capabilityNames(caps []capability.Capability) string {
	if len(caps) == 0 {
		return "none"
	}
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// viewPlan adds the bottle's capabilities and drift to its plan.
func (a *app) viewPlan(p *bottle.Plan) (*capability.PlanView, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	return capability.ViewPlan(store, p)
}

// holdBottles keeps the capability state of the plans' bottles still
// while they are built, so a change applied meanwhile waits for the build
// (and says so) instead of being overwritten by it.
func (a *app) holdBottles(ctx context.Context, plans []*bottle.Plan) (*capability.Hold, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	slugs := make([]string, len(plans))
	for i, p := range plans {
		slugs[i] = p.Slug
	}
	return capability.HoldBottles(ctx, store, slugs, func(slug string) {
		fmt.Fprintf(a.io.err, "waiting for a change to bottle %s to finish before building it\n", slug)
	})
}

// recordBuilt records a successful build of a held bottle, so it no
// longer shows as needing one. Failing to record it is said, not fatal:
// the image is built.
func (a *app) recordBuilt(hold *capability.Hold, slug, imageID string) {
	if err := hold.Built(slug, imageID, ""); err != nil {
		fmt.Fprintf(a.io.err, "bottle %s: built, but recording the build failed: %s\n", slug, errorLine(err))
	}
}
