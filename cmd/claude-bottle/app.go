package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

// stdio is where a command reads and writes; tests replace it.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	// isTerminal reports whether out is a terminal (a launch's TTY).
	isTerminal bool
	// errTerminal reports whether err is a terminal: the progress display
	// goes there, so --progress auto picks tty by it, as buildx does.
	errTerminal bool
}

func newStdio() stdio {
	return stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, isTerminal: charDevice(os.Stdout), errTerminal: charDevice(os.Stderr)}
}

func charDevice(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// app holds what every command shares: the streams, the global flags and
// the logger. Commands are built as newXxxCmd(a *app) *cobra.Command.
type app struct {
	io     stdio
	global globalFlags
	log    *slog.Logger
	// warnOnce prints the cleartext-connection warning once a command.
	warnOnce sync.Once
}

// globalFlags are the persistent flags of every command.
type globalFlags struct {
	home     string
	logLevel string
}

// run builds the command tree, runs it and maps its error to an exit code:
// this is the one place where errors become exit codes and stderr lines.
func run(args []string, io stdio) int {
	a := &app{io: io}
	root := a.newRootCmd()
	root.SetArgs(args)
	root.SetIn(io.in)
	root.SetOut(io.out)
	root.SetErr(io.err)
	ctx, stop := signalContext(context.Background())
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	fmt.Fprintf(io.err, "claude-bottle: %s\n", errorLine(err))
	return code
}

// signalContext is canceled by the first SIGINT or SIGTERM, and remembers
// which, so the exit code can say so (130 / 143). After the first signal
// the default action is restored, so a second Ctrl-C kills claude-bottle at
// once should the orderly stop hang.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			signal.Stop(ch)
			cancel(&signalError{sig: sig.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(ch); close(done); cancel(nil) }
}

// signalError records the signal that canceled the command.
type signalError struct{ sig syscall.Signal }

func (e *signalError) Error() string { return fmt.Sprintf("interrupted by %s", e.sig) }

// SignalName returns the signal's name as the engine's kill API takes it,
// so a launch can pass the same signal on to the agent.
func (e *signalError) SignalName() string {
	if e.sig == syscall.SIGTERM {
		return "TERM"
	}
	return "INT"
}

func (a *app) newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "claude-bottle",
		Short:         "Run coding agents in per-agent Docker containers (bottles)",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setup()
		},
	}
	root.PersistentFlags().StringVar(&a.global.home, "home", "", "state root (default $CLAUDE_BOTTLE_HOME or ~/.claude-bottle)")
	root.PersistentFlags().StringVar(&a.global.logLevel, "log-level", "warn", "diagnostic log level: debug, info, warn, error")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	groupCommand(root)
	for _, add := range commands {
		root.AddCommand(add(a))
	}
	a.addCompletions(root)
	return root
}

// commands are the constructors of the top-level commands: every command
// claude-bottle has is listed here, and only here.
var commands = []func(a *app) *cobra.Command{
	newPlanCmd,
	newBuildCmd,
	newLaunchCmd,
	newPsCmd,
	newStopCmd,
	newDashboardCmd,
	newStateCmd,
	newRequestCmd,
	newMCPCmd,
	newHookCmd,
	newDriversCmd,
	newPluginCmd,
	newVersionCmd,
	newDriverServeCmd,
	newInitCmd,
}

const rootLong = `claude-bottle runs coding agents (Claude Code) in per-agent Docker containers
called bottles, each named by a slug. It builds each bottle's image from the
repo's Dockerfile, or from the bottle's own override, through a build driver
(buildkit, docker, or a third-party plugin).`

// setup makes the logger once flags are parsed.
func (a *app) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.global.logLevel)); err != nil {
		return usageErr(fmt.Errorf("--log-level %q: want debug, info, warn or error", a.global.logLevel))
	}
	a.log = slog.New(slog.NewTextHandler(a.io.err, &slog.HandlerOptions{Level: level}))
	return nil
}
