package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/termsafe"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// instance is one running driver process.
type instance struct {
	d        Descriptor
	log      *slog.Logger
	client   *plugin.Client
	rpc      *wire.Client
	run      *procRunner
	tail     *tail
	desc     Description
	tmp      string // the plugin's private TMPDIR
	killOnce sync.Once
}

func (i *instance) alive() bool { return !i.run.hasExited() }

// kill stops the process (gracefully if it answers, else with SIGKILL
// after 2 s), releases go-plugin's goroutines and socket folder, then kills
// whatever the plugin started that is still running (its process group:
// go-plugin skips the kill when the plugin already died) and removes its
// private TMPDIR.
func (i *instance) kill() {
	i.killOnce.Do(func() {
		i.client.Kill()
		i.run.killGroup()
		if i.tmp != "" {
			os.RemoveAll(i.tmp)
		}
	})
}

// crashWait bounds how long a failed call waits for the process to exit
// before it is declared crashed anyway; with stderrWait it keeps a crash
// report under the 2 s promised.
const (
	crashWait  = time.Second
	stderrWait = 300 * time.Millisecond
)

// start runs d's executable and brings it to the point where it serves
// calls: handshake, protocol negotiation, Configure.
func (m *Manager) start(ctx context.Context, d Descriptor) (*instance, error) {
	sock, err := m.socketDir()
	if err != nil {
		return nil, err
	}
	// A private TMPDIR: what the plugin and its children leave there goes
	// with the instance, even when they are killed mid-work.
	tmp, err := os.MkdirTemp(sock, "tmp-")
	if err != nil {
		return nil, fmt.Errorf("starting driver %q: %w", d.Name, err)
	}
	inst, err := m.startIn(ctx, d, sock, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	inst.tmp = tmp
	return inst, nil
}

func (m *Manager) startIn(ctx context.Context, d Descriptor, sock, tmp string) (*instance, error) {
	log := m.log.With("driver", d.Name)
	if d.Source == SourcePath {
		log.Warn("running a driver plugin found on PATH, unverified; install it with claude-bottle plugin install to pin its checksum", "path", d.Path)
	}
	t := newTail()
	var (
		runMu sync.Mutex
		run   *procRunner
	)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  wire.Handshake,
		VersionedPlugins: wire.HostPlugins(),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		// The host's environment holds API keys and tokens: the plugin gets
		// go-plugin's handshake variables and PluginEnv's allowlist only.
		SkipHostEnv: true,
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			r := newProcRunner(d.Name, m.command(d, cmd.Env, tmp), m.verifier(d), log)
			runMu.Lock()
			run = r
			runMu.Unlock()
			return r, nil
		},
		Logger:           wire.NewHCLogger(log, t.add, filepath.Base(d.Path)),
		StartTimeout:     m.opts.StartTimeout,
		Stderr:           m.opts.Stderr,
		SyncStdout:       wire.NewLineWriter(func(l string) { log.Debug("driver stdout", "line", l) }),
		SyncStderr:       wire.NewLineWriter(func(l string) { t.add(l); log.Info("driver stderr", "line", l) }),
		UnixSocketConfig: &plugin.UnixSocketConfig{TempDir: sock},
	})
	rc, err := dispense(ctx, client, func() *procRunner { runMu.Lock(); defer runMu.Unlock(); return run })
	runMu.Lock()
	r := run
	runMu.Unlock()
	if err != nil {
		client.Kill()
		if r != nil {
			r.killGroup()
		}
		if ctx.Err() != nil {
			return nil, driver.Canceled(ctx, fmt.Errorf("starting driver %q: %w", d.Name, context.Cause(ctx)))
		}
		return nil, startError(d, r, t, err)
	}
	inst := &instance{d: d, log: log, client: client, rpc: rc, run: r, tail: t}
	setupCtx, cancel := context.WithTimeout(ctx, m.opts.SetupTimeout)
	defer cancel()
	desc, err := rc.Configure(setupCtx, m.opts.Config)
	if err != nil {
		inst.kill()
		if ctx.Err() == nil && setupCtx.Err() != nil {
			return nil, fmt.Errorf("%w: driver %q answered the handshake but did not finish setting up within %s; it was stopped",
				driver.ErrDaemonUnreachable, d.Name, m.opts.SetupTimeout)
		}
		err, _ = inst.callError(ctx, err)
		return nil, err
	}
	inst.desc = descriptionFromPB(desc, client.NegotiatedVersion())
	log.Debug("driver started", "pid", r.ID(), "protocol", inst.desc.Protocol, "version", inst.desc.Version)
	return inst, nil
}

// command is how d's process is run: built-ins are the claude-bottle
// binary's hidden serve command. env is go-plugin's handshake variables;
// of the host's environment only PluginEnv's allowlist is added.
func (m *Manager) command(d Descriptor, env []string, tmp string) *exec.Cmd {
	var cmd *exec.Cmd
	if d.BuiltIn {
		cmd = exec.Command(d.Path, BuiltinArg, d.Name)
	} else {
		cmd = exec.Command(d.Path)
	}
	cmd.Env = append(append(PluginEnv(os.Environ()), env...), wire.EnvLogLevel+"="+hostLogLevel(m.log), "TMPDIR="+tmp)
	return cmd
}

// verifier opens and checks an installed plugin's binary right before it
// runs; the runner executes the returned file, not the path.
func (m *Manager) verifier(d Descriptor) func() (*os.File, error) {
	if d.Source != SourceInstalled {
		return nil
	}
	if len(d.sum) == 0 {
		return func() (*os.File, error) {
			return nil, fmt.Errorf("%w: no checksum is recorded for %s; reinstall it with claude-bottle plugin install", ErrChecksum, d.Path)
		}
	}
	return func() (*os.File, error) { return openVerified(d.Path, d.sum) }
}

// dispense starts the process and returns the driver client, killing the
// process early if ctx ends.
func dispense(ctx context.Context, c *plugin.Client, run func() *procRunner) (*wire.Client, error) {
	type result struct {
		rc  *wire.Client
		err error
	}
	ch := make(chan result, 1)
	go func() {
		proto, err := c.Client()
		if err != nil {
			ch <- result{err: err}
			return
		}
		raw, err := proto.Dispense(wire.PluginKey)
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{rc: raw.(*wire.Client)}
	}()
	select {
	case r := <-ch:
		return r.rc, r.err
	case <-ctx.Done():
		if r := run(); r != nil {
			_ = r.Kill(context.Background())
		}
		r := <-ch
		if r.err == nil {
			r.err = ctx.Err()
		}
		return nil, r.err
	}
}

// startError words a failed start by what the process did: never ran, ran
// and left without the handshake, or spoke another protocol version.
func startError(d Descriptor, r *procRunner, t *tail, err error) error {
	if errors.Is(err, ErrChecksum) {
		return err
	}
	what := firstNonEmpty(d.shown, d.Path)
	if d.BuiltIn {
		what = fmt.Sprintf("the built-in driver %q (%s %s %s)", d.Name, d.Path, BuiltinArg, d.Name)
	}
	if r == nil || !r.started() {
		return fmt.Errorf("%w: cannot run %s: %v", ErrBadPlugin, what, err)
	}
	seen, version, stray := r.handshakeInfo()
	switch {
	case seen && !slices.Contains(ProtocolVersions(), version):
		return fmt.Errorf("%w: %s speaks driver protocol version %d, but this claude-bottle speaks version %s; install a build of the plugin for protocol %s, or a claude-bottle that speaks %d",
			ErrBadPlugin, what, version, joinInts(ProtocolVersions()), joinInts(ProtocolVersions()), version)
	case seen:
		return fmt.Errorf("%w: %s answered the plugin handshake, but connecting to it failed: %v", ErrBadPlugin, what, err)
	case r.hasExited() && !r.killedByHost():
		r.drained(stderrWait)
		return fmt.Errorf("%w: %s is not a claude-bottle driver plugin: it exited (%s) without the plugin handshake%s",
			ErrBadPlugin, what, r.exitText(), outputNote(stray, t.last()))
	default:
		return fmt.Errorf("%w: %s did not answer the plugin handshake in time (%v); is it a claude-bottle driver plugin built with plugins/sdk?%s",
			ErrBadPlugin, what, err, outputNote(stray, t.last()))
	}
}

func outputNote(stdout, stderr []string) string {
	lines := append(append([]string(nil), stdout...), stderr...)
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return "; its output ended with:\n  " + strings.Join(termsafe.Lines(lines), "\n  ")
}

func joinInts(vs []int) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// callError classifies the error of a call to the plugin. broken reports
// that the process is dead or unreachable and must be replaced.
func (i *instance) callError(ctx context.Context, err error) (out error, broken bool) {
	if out, ok := wire.FromStatus(err); ok {
		if errors.Is(out, wire.ErrPanicked) {
			// The plugin recovered the panic and flushed its progress; the
			// process is not trusted after it.
			i.log.Debug("driver panicked", "trace", out.Error())
			return &CrashError{Driver: i.d.Name, Exit: "panicked", LastLines: panicLines(out.Error())}, true
		}
		return out, false // the driver's own error, classes restored
	}
	code := status.Code(err)
	if ctx.Err() != nil || code == codes.DeadlineExceeded || code == codes.Canceled && i.alive() {
		return wire.Ended(ctx, err, fmt.Sprintf("driver %q", i.d.Name)), false
	}
	if code == codes.Unavailable || code == codes.Canceled || !i.alive() {
		select {
		case <-i.run.exited:
		case <-time.After(crashWait):
		}
		i.run.drained(stderrWait)
		exit := i.run.exitText()
		if exit == "" {
			exit = "connection lost: " + status.Convert(err).Message()
		}
		return &CrashError{Driver: i.d.Name, Exit: exit, LastLines: i.tail.last()}, true
	}
	if code == codes.Unimplemented {
		return fmt.Errorf("%w: driver %q does not implement this call (%v); it may be built for an older protocol", driver.ErrUnsupported, i.d.Name, err), false
	}
	return fmt.Errorf("driver %q: %w", i.d.Name, err), false
}

// panicLines are the lines of a recovered panic's report a crash error
// shows: the panic and the top of its trace, as for a panic on stderr.
func panicLines(report string) []string {
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if l = strings.TrimRight(l, " \t"); l != "" && len(out) < tailPanic {
			out = append(out, l)
		}
	}
	return out
}

// hostLogLevel is the lowest level a plugin should log at: Debug if the
// host keeps debug lines, else Info, which crash reports want whatever
// the host keeps.
func hostLogLevel(log interface {
	Enabled(context.Context, slog.Level) bool
}) string {
	if log.Enabled(context.Background(), slog.LevelDebug) {
		return slog.LevelDebug.String()
	}
	return slog.LevelInfo.String()
}
