package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/launch"
)

func init() { commands = append(commands, newLaunchCmd) }

// launchOptions are the flags of `claude-bottle launch`.
type launchOptions struct {
	driverFlags
	requestFlags
	cwd                     string
	dryRun, noBuild, resume bool
	keep, attach            bool
	env                     []string
	progress, transcriptDir string
}

func newLaunchCmd(a *app) *cobra.Command {
	var o launchOptions
	cmd := &cobra.Command{
		Use:   "launch SLUG [flags] [-- COMMAND ARGS...]",
		Short: "Plan, build and run a bottle (with --cwd, on an image layered for that folder)",
		Long: "Prints the preflight summary, builds the bottle's image through the driver, layers the\n" +
			"--cwd image on top, and runs the bottle with the folder mounted at the same path. The\n" +
			"command after -- replaces the image's default command. The agent's state folder is\n" +
			"snapshotted into the bottle's transcript/ when it stops; --resume restores it first.",
		Args: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n == 0 || len(args) == 0 || (n < 0 && len(args) != 1) || n > 1 {
				return usageErr(fmt.Errorf("launch takes one SLUG, then optionally -- COMMAND ARGS... (got %q)", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runLaunch(cmd, args[0], args[1:], &o)
		},
	}
	o.driverFlags.bind(cmd)
	o.requestFlags.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&o.cwd, "cwd", "", "host folder the agent works in: mounted at the same path and made the working directory")
	fl.BoolVar(&o.dryRun, "dry-run", false, "print the plan and the build and run it would do, and change nothing")
	fl.BoolVar(&o.noBuild, "no-build", false, "run the image as it is, without building it")
	fl.BoolVar(&o.resume, "resume", false, "restore the last transcript snapshot before the agent starts")
	fl.BoolVar(&o.keep, "keep", false, "keep the stopped container")
	fl.BoolVar(&o.attach, "attach", false, "join the bottle if it is already running")
	fl.StringArrayVarP(&o.env, "env", "e", nil, "environment variable KEY=VALUE for the bottle, passed at run time (KEY alone takes it from the environment)")
	fl.StringVar(&o.progress, "progress", "auto", "build progress output: auto, tty, plain, rawjson or quiet")
	fl.StringVar(&o.transcriptDir, "transcript-dir", "", "the agent's state folder inside the bottle (default /home/node/.claude, or launch.transcript_dir in config.toml)")
	return cmd
}

func (a *app) runLaunch(cmd *cobra.Command, slug string, command []string, o *launchOptions) error {
	var tmpl driver.Request
	if err := o.requestFlags.apply(&tmpl); err != nil {
		return err
	}
	env, err := runEnv(o.env)
	if err != nil {
		return err
	}
	s, err := a.settings(&o.driverFlags)
	if err != nil {
		return err
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := cmd.Context()
	p, err := a.planWith(cmd, src, slug, s, &o.driverFlags, o.cwd)
	if err != nil {
		return err
	}
	v, err := a.viewPlan(p)
	if err != nil {
		return err
	}
	writeSummary(a.io.err, v)
	spec, err := a.runSpec(p, s, o, command, env)
	if err != nil {
		return err
	}
	if o.dryRun {
		return writeDryRun(a.io.out, p, tmpl, spec, o)
	}
	if !o.noBuild {
		if err := a.buildForLaunch(cmd, src, p, s, tmpl, o.progress); err != nil {
			return err
		}
	}
	cli, err := launch.Connect(s.DriverConfig.DockerHost)
	if err != nil {
		return err
	}
	defer cli.Close()
	if p.DerivedImage != "" {
		if _, err := launch.BuildDerived(ctx, cli, p.Image, p.Cwd, p.DerivedImage); err != nil {
			return err
		}
	}
	out, err := launch.Run(ctx, cli, spec)
	if err != nil {
		return err
	}
	a.reportRun(out)
	if out.ExitCode != 0 {
		return &exitCodeError{code: out.ExitCode, err: fmt.Errorf("the bottle's command exited with status %d", out.ExitCode)}
	}
	return nil
}

// planWith resolves the plan and chooses the driver from src.
func (a *app) planWith(cmd *cobra.Command, src driverSource, slug string, s config.Settings, f *driverFlags, cwd string) (*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	p, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: s.Repo, RepoFrom: s.RepoFrom, Cwd: cwd})
	if err != nil {
		return nil, err
	}
	p.Driver, p.DriverReason, err = a.chooseDriver(cmd.Context(), src, s, f)
	return p, err
}

func (a *app) buildForLaunch(cmd *cobra.Command, src driverSource, p *bottle.Plan, s config.Settings, tmpl driver.Request, progress string) error {
	if err := p.CheckDockerfile(); err != nil {
		return err
	}
	b, err := openDriver(cmd.Context(), src, p.Driver, s)
	if err != nil {
		return err
	}
	printer, err := a.newPrinter(cmd.Context(), progress)
	if err != nil {
		return err
	}
	digest := overrideDigest(p)
	res, err := b.Build(cmd.Context(), p.RequestWith(tmpl), printer)
	printer.Wait()
	if err != nil {
		return fmt.Errorf("building bottle %s (%s from %s): %w", p.Slug, p.Image, p.Dockerfile, err)
	}
	a.markBuilt(cmd.Context(), p, digest, res.ImageID)
	return nil
}

// runSpec turns the plan and flags into what launch.Run needs.
func (a *app) runSpec(p *bottle.Plan, s config.Settings, o *launchOptions, command, env []string) (launch.Spec, error) {
	store, err := a.store()
	if err != nil {
		return launch.Spec{}, err
	}
	b, err := store.Bottle(p.Slug)
	if err != nil {
		return launch.Spec{}, err
	}
	dir := s.TranscriptDir
	if o.transcriptDir != "" {
		dir = o.transcriptDir
	}
	if !strings.HasPrefix(dir, "/") {
		return launch.Spec{}, usageErr(fmt.Errorf("--transcript-dir %q must be an absolute path inside the bottle", dir))
	}
	image := p.Image
	if p.DerivedImage != "" {
		image = p.DerivedImage
	}
	spec := launch.Spec{
		Slug: p.Slug, Image: image, Cwd: p.Cwd, Cmd: command, Env: env, TranscriptDir: dir,
		Bottle: b, Resume: o.resume, Keep: o.keep, Attach: o.attach,
		Stdout: a.io.out, Stderr: a.io.err, Log: a.log,
	}
	if f, ok := a.io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		spec.Stdin, spec.TTY, spec.Terminal = f, a.io.isTerminal, fdTerminal{f}
	}
	return spec, nil
}

// runEnv builds the bottle's run-time environment: ANTHROPIC_API_KEY from
// the host when set, then --env values. None of it is baked into an image.
func runEnv(flags []string) ([]string, error) {
	var env []string
	if v, ok := os.LookupEnv("ANTHROPIC_API_KEY"); ok {
		env = append(env, "ANTHROPIC_API_KEY="+v)
	}
	for _, kv := range flags {
		k, _, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, usageErr(fmt.Errorf("--env %q: want KEY=VALUE or KEY", kv))
		}
		if !ok {
			v, set := os.LookupEnv(k)
			if !set {
				continue
			}
			kv = k + "=" + v
		}
		env = append(env, kv)
	}
	return env, nil
}

func (a *app) reportRun(out launch.Outcome) {
	switch {
	case out.Snapshot != nil:
		fmt.Fprintf(a.io.err, "transcript saved: %d files, %s\n", out.Snapshot.Files, humanBytes(out.Snapshot.Bytes))
	case out.SnapshotErr != nil:
		fmt.Fprintf(a.io.err, "transcript not saved (the previous snapshot is kept): %s\n", errorLine(out.SnapshotErr))
	}
}

// writeDryRun prints the build and run launch would do.
func writeDryRun(w io.Writer, p *bottle.Plan, tmpl driver.Request, spec launch.Spec, o *launchOptions) error {
	if o.noBuild {
		fmt.Fprintf(w, "build: skipped (--no-build)\n")
	} else {
		fmt.Fprintf(w, "build: driver %s builds %s with context %s as %s\n", p.Driver, p.Dockerfile, p.Context, p.Image)
	}
	if p.DerivedImage != "" {
		fmt.Fprintf(w, "derive: %s on %s: WORKDIR %s, label %s\n", p.DerivedImage, p.Image, p.Cwd, bottle.CwdLabel)
	}
	fmt.Fprintf(w, "run: %s\n", strings.Join(launch.DockerRunEquivalent(spec), " "))
	return nil
}

// fdTerminal is the host terminal on a file descriptor.
type fdTerminal struct{ f *os.File }

// MakeRaw puts the terminal into raw mode.
func (t fdTerminal) MakeRaw() (func(), error) {
	st, err := term.MakeRaw(int(t.f.Fd()))
	if err != nil {
		return nil, err
	}
	return func() { term.Restore(int(t.f.Fd()), st) }, nil
}

// Size returns the terminal's size.
func (t fdTerminal) Size() (uint, uint, error) {
	w, h, err := term.GetSize(int(t.f.Fd()))
	return uint(w), uint(h), err
}
