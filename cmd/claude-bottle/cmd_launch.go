package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/egress"
	"github.com/claude-bottle/claude-bottle/launch"
)

// launchOptions are the flags of `claude-bottle launch`.
type launchOptions struct {
	driverFlags
	requestFlags
	cwd                     string
	dryRun, noBuild, resume bool
	keep, attach            bool
	resumeSettings          bool
	env                     []string
	progress, transcriptDir string
	contain                 containFlags
	resumeCommand           string
	swapGrace               time.Duration
}

func newLaunchCmd(a *app) *cobra.Command {
	var o launchOptions
	cmd := &cobra.Command{
		Use:   "launch SLUG [flags] [-- COMMAND ARGS...]",
		Short: "Plan, build and run a bottle (with --cwd, on an image layered for that folder)",
		Long: "Prints the preflight summary, builds the bottle's image through the driver, layers the\n" +
			"--cwd image on top, and runs the bottle with the folder mounted at the same path. The\n" +
			"command after -- replaces the image's default command. The agent's state folder is\n" +
			"snapshotted into the bottle's transcript/ when it stops, within config's [transcript] limits;\n" +
			"--resume restores its sessions and history first (--resume-settings: its settings too).",
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
	fl.BoolVar(&o.resume, "resume", false, "restore the last transcript snapshot's sessions and history before the agent starts")
	fl.BoolVar(&o.resumeSettings, "resume-settings", false, "with --resume, restore the agent's own settings.json, hooks, commands and agents too (by default only sessions and history are: an agent could have rewritten the rest)")
	fl.BoolVar(&o.keep, "keep", false, "keep the stopped container")
	fl.BoolVar(&o.attach, "attach", false, "join the bottle if it is already running")
	fl.StringArrayVarP(&o.env, "env", "e", nil, "environment variable KEY=VALUE for the bottle, passed at run time (KEY alone takes it from the environment)")
	fl.StringVar(&o.progress, "progress", "auto", "build progress output: auto, tty, plain, rawjson or quiet")
	fl.StringVar(&o.transcriptDir, "transcript-dir", "", "the agent's state folder inside the bottle (default /home/node/.claude, or launch.transcript_dir in config.toml)")
	fl.StringVar(&o.resumeCommand, "resume-command", "", "what the bottle runs, with sh -c, when it restarts on its new image after an approved request (default \""+launch.DefaultResumeCommand+"\", or launch.resume_command in config.toml)")
	fl.DurationVar(&o.swapGrace, "swap-grace", launch.DefaultSwapGrace, "after a request is applied, how long the agent's pending call has to get its answer before the bottle restarts on the new image")
	o.contain.bind(cmd)
	return cmd
}

func (a *app) runLaunch(cmd *cobra.Command, slug string, command []string, o *launchOptions) error {
	if err := checkTranscriptFlags(o); err != nil {
		return err
	}
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
	if !o.resume {
		a.resumeHint(p)
	}
	ro, err := a.runOptions(s, o, command, env)
	if err != nil {
		return err
	}
	ro.Containment = contain
	if err := a.egress(s, &ro); err != nil {
		return err
	}
	po := launch.PrepareOptions{Plan: p, Build: tmpl, NoBuild: o.noBuild}
	if o.dryRun {
		return writeDryRun(a.io.out, launch.Sequence(po, ro))
	}
	sv, err := a.supervisor(s, p, o)
	if err != nil {
		return err
	}
	if sv != nil {
		defer sv.Close()
	}
	if po.Engine, err = launch.Connect(s.DriverConfig.DockerHost); err != nil {
		return err
	}
	defer po.Engine.Close()
	prep, err := a.prepare(ctx, src, s, po, o.progress)
	if err != nil {
		return err
	}
	var out launch.Outcome
	if sv != nil {
		out, err = sv.Run(ctx, prep, ro)
	} else {
		out, err = prep.Run(ctx, ro)
	}
	if err != nil {
		return err
	}
	if err := a.reportSnapshot(ctx, out); err != nil {
		return err
	}
	if out.ExitCode != 0 {
		return &exitCodeError{code: out.ExitCode, err: fmt.Errorf("the bottle's command exited with status %d", out.ExitCode)}
	}
	return nil
}

// egress gives the run its network side: the egress and Anthropic proxies
// on the bottle socket, and the environment that points the agent at them
// (with a placeholder, never the host's key).
func (a *app) egress(s config.Settings, ro *launch.RunOptions) error {
	setup := egress.Setup{Allow: s.Egress.Allow, AnthropicURL: s.Egress.AnthropicURL,
		Credentials: egress.CredentialsFromEnv(os.Getenv), Log: a.log}
	hook, err := setup.Hook()
	if err != nil {
		return usageErr(err)
	}
	ro.Socket, ro.Env = hook, append(setup.Env(), ro.Env...)
	return nil
}

// prepare opens the plan's driver and a progress display unless nothing
// is built, and prepares the bottle's image; the display ends before the
// bottle takes the terminal.
func (a *app) prepare(ctx context.Context, src driverSource, s config.Settings, po launch.PrepareOptions, mode string) (*launch.Prepared, error) {
	if po.NoBuild {
		return launch.Prepare(ctx, po)
	}
	// The driver starts only if the image is not up to date.
	po.Builder = upToDate(s, false).Builder(po.Plan, po.Plan.Driver, func(ctx context.Context) (driver.Builder, error) {
		return openDriver(ctx, src, po.Plan.Driver, s)
	})
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
	if err := config.CheckTranscriptDir(dir); err != nil {
		return launch.RunOptions{}, usageErr(fmt.Errorf("--transcript-dir %w", err))
	}
	ro := launch.RunOptions{
		Cmd: command, Env: env, TranscriptDir: dir,
		Resume: o.resume, Keep: o.keep, Attach: o.attach,
		Transcript: transcriptOptions(s.Transcript, o.resumeSettings),
		Stdout:     a.io.out, Stderr: a.io.err, Log: a.log,
	}
	if f, ok := a.io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ro.Stdin, ro.TTY, ro.Terminal = f, a.io.isTerminal, fdTerminal{f}
	}
	return ro, nil
}

// runEnv builds the bottle's run-time environment from --env values. None
// of it is baked into an image, and no Anthropic credential is taken: the
// host proxy adds the host's to the bottle's API calls (package egress).
func runEnv(flags []string) ([]string, error) {
	var env []string
	for _, kv := range flags {
		k, _, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, usageErr(fmt.Errorf("--env %q: want KEY=VALUE or KEY", kv))
		}
		if slices.Contains(egress.SecretEnv, k) {
			return nil, usageErr(fmt.Errorf("--env %s: Anthropic credentials never enter a bottle; set %s on the host and the bottle's proxy adds it to each API call", k, k))
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
