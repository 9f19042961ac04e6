package main

import (
	"context"
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

// launchOptions are the flags of `claude-bottle launch`.
type launchOptions struct {
	driverFlags
	requestFlags
	cwd                     string
	dryRun, noBuild, resume bool
	keep, attach            bool
	env                     []string
	progress, transcriptDir string
	contain                 containFlags
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
	_ = fl.MarkHidden("push") // refused: only build pushes, under a push name
	fl.StringVar(&o.cwd, "cwd", "", "host folder the agent works in: mounted at the same path and made the working directory")
	fl.BoolVar(&o.dryRun, "dry-run", false, "print the plan and the build and run it would do, and change nothing")
	fl.BoolVar(&o.noBuild, "no-build", false, "run the image as it is, without building it")
	fl.BoolVar(&o.resume, "resume", false, "restore the last transcript snapshot before the agent starts")
	fl.BoolVar(&o.keep, "keep", false, "keep the stopped container")
	fl.BoolVar(&o.attach, "attach", false, "join the bottle if it is already running")
	fl.StringArrayVarP(&o.env, "env", "e", nil, "environment variable KEY=VALUE for the bottle, passed at run time (KEY alone takes it from the environment)")
	fl.StringVar(&o.progress, "progress", "auto", "build progress output: auto, tty, plain, rawjson or quiet")
	fl.StringVar(&o.transcriptDir, "transcript-dir", "", "the agent's state folder inside the bottle (default /home/node/.claude, or launch.transcript_dir in config.toml)")
	o.contain.bind(cmd)
	return cmd
}

func (a *app) runLaunch(cmd *cobra.Command, slug string, command []string, o *launchOptions) error {
	var tmpl driver.Request
	if err := o.requestFlags.apply(&tmpl); err != nil {
		return err
	}
	if err := noPush("launch", tmpl); err != nil {
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
	if err := driver.CheckExposure(s.DriverConfig, tmpl); err != nil {
		return err
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	ctx := cmd.Context()
	p, err := a.planWith(ctx, src, slug, s, o.cwd)
	if err != nil {
		return err
	}
	contain, err := a.containment(cmd, s, p, &o.contain)
	if err != nil {
		return err
	}
	v, err := a.viewPlan(p)
	if err != nil {
		return err
	}
	writeSummary(a.io.err, v)
	a.warnContainment(contain)
	ro, err := a.runOptions(s, o, command, env)
	if err != nil {
		return err
	}
	ro.Containment = contain
	po := launch.PrepareOptions{Plan: p, Build: tmpl, NoBuild: o.noBuild}
	if o.dryRun {
		return writeDryRun(a.io.out, launch.Sequence(po, ro))
	}
	if po.Engine, err = launch.Connect(s.DriverConfig.DockerHost); err != nil {
		return err
	}
	defer po.Engine.Close()
	prep, err := a.prepare(ctx, src, s, po, o.progress)
	if err != nil {
		return err
	}
	out, err := prep.Run(ctx, ro)
	if err != nil {
		return err
	}
	a.reportRun(out)
	if out.ExitCode != 0 {
		return &exitCodeError{code: out.ExitCode, err: fmt.Errorf("the bottle's command exited with status %d", out.ExitCode)}
	}
	return nil
}

// prepare opens the plan's driver and a progress display unless nothing
// is built, and prepares the bottle's image; the display ends before the
// bottle takes the terminal.
func (a *app) prepare(ctx context.Context, src driverSource, s config.Settings, po launch.PrepareOptions, mode string) (*launch.Prepared, error) {
	if po.NoBuild {
		return launch.Prepare(ctx, po)
	}
	var err error
	if po.Builder, err = openDriver(ctx, src, po.Plan.Driver, s); err != nil {
		return nil, err
	}
	printer, err := a.newPrinter(ctx, mode)
	if err != nil {
		return nil, err
	}
	po.Sink = printer
	hold, err := a.holdBottles(ctx, []*bottle.Plan{po.Plan})
	if err != nil {
		printer.Wait()
		return nil, err
	}
	defer hold.Release()
	prep, err := launch.Prepare(ctx, po)
	printer.Wait()
	if err == nil && prep.Built != nil {
		a.recordBuilt(hold, po.Plan.Slug, prep.Built.ImageID)
	}
	return prep, err
}

// runOptions turns the flags into how launch runs the bottle.
func (a *app) runOptions(s config.Settings, o *launchOptions, command, env []string) (launch.RunOptions, error) {
	dir := s.TranscriptDir
	if o.transcriptDir != "" {
		dir = o.transcriptDir
	}
	if !strings.HasPrefix(dir, "/") {
		return launch.RunOptions{}, usageErr(fmt.Errorf("--transcript-dir %q must be an absolute path inside the bottle", dir))
	}
	ro := launch.RunOptions{
		Cmd: command, Env: env, TranscriptDir: dir,
		Resume: o.resume, Keep: o.keep, Attach: o.attach,
		Stdout: a.io.out, Stderr: a.io.err, Log: a.log,
	}
	if f, ok := a.io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ro.Stdin, ro.TTY, ro.Terminal = f, a.io.isTerminal, fdTerminal{f}
	}
	return ro, nil
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

// writeDryRun prints the steps launch would take.
func writeDryRun(w io.Writer, st launch.Steps) error {
	if st.Build == nil {
		fmt.Fprintf(w, "build: skipped (--no-build)\n")
	} else {
		fmt.Fprintf(w, "build: driver %s builds %s with context %s as %s\n", st.Driver, st.Build.Dockerfile, st.Build.ContextDir, strings.Join(st.Build.Tags, ", "))
	}
	if d := st.Derive; d != nil {
		fmt.Fprintf(w, "derive: %s on %s: WORKDIR %s, label %s\n", d.Tag, d.Base, d.Cwd, bottle.CwdLabel)
	}
	fmt.Fprintf(w, "run: %s\n", strings.Join(launch.DockerRunEquivalent(st.Run), " "))
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
