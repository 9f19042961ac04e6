package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// Spec is one run of a bottle.
type Spec struct {
	Slug string
	// Image is the image to run: the derived image with a cwd, else the
	// bottle's own.
	Image string
	// Cwd is the host folder bind-mounted at the same path and used as the
	// working directory; empty runs in the image's own WORKDIR.
	Cwd string
	// Cmd replaces the image's default command when not empty.
	Cmd []string
	// Env are KEY=VALUE pairs passed at run time, never baked into an image.
	Env []string
	// TranscriptDir is the agent's state folder inside the bottle.
	TranscriptDir string
	// Bottle is the bottle's state, where the transcript is snapshotted.
	Bottle *state.Bottle
	// Resume copies the last snapshot into the bottle before it starts.
	Resume bool
	// Transcript bounds the snapshot and says what a resume restores.
	Transcript TranscriptOptions
	// Keep leaves the stopped container in place.
	Keep bool
	// Attach joins an already running bottle instead of refusing.
	Attach bool
	// Stdin, Stdout, Stderr are the terminal; Stdin nil runs without input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY allocates a terminal in the bottle (when Stdin is one).
	TTY bool
	// Terminal, when set, puts the host terminal in raw mode and reports its
	// size; nil leaves it alone.
	Terminal Terminal
	// Log receives diagnostics.
	Log *slog.Logger
	// Containment is how the bottle holds its agent (container.go).
	Containment
}

// Terminal is the host terminal a TTY bottle is attached to.
type Terminal interface {
	// MakeRaw puts the terminal in raw mode and returns the restore func.
	MakeRaw() (restore func(), err error)
	// Size returns the terminal's width and height.
	Size() (width, height uint, err error)
}

// Outcome is what a run ended with.
type Outcome struct {
	ExitCode int
	// Snapshot describes the transcript snapshot taken, if one was.
	Snapshot *state.SnapshotInfo
	// SnapshotErr is why no snapshot was taken, if it failed.
	SnapshotErr error
}

// stopGrace is how long a bottle has to exit after the forwarded signal
// before it is killed.
const stopGrace = 10 * time.Second

// killBound bounds each kill request to the engine after a signal, and
// goneBound how long the engine has, after the SIGKILL, to report the
// bottle stopped: a frozen engine must not leave Ctrl-C stuck.
const (
	killBound = 5 * time.Second
	goneBound = 10 * time.Second
)

// Run runs the bottle and waits for it to exit. A signal that cancels ctx
// is forwarded to the agent (it is the agent's to handle); the run still
// waits for the exit, then snapshots the transcript.
func Run(ctx context.Context, cli *client.Client, s Spec) (Outcome, error) {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	name := bottle.ContainerName(s.Slug)
	if id, running, err := existing(ctx, cli, name); err != nil {
		return Outcome{}, err
	} else if running && s.Attach {
		return attachRunning(ctx, cli, id, s)
	} else if running {
		return Outcome{}, fmt.Errorf("%w: container %s is already running; use `claude-bottle launch %s --attach` to join it, or stop it with `docker stop %s`", ErrAlreadyRunning, name, s.Slug, name)
	} else if id != "" {
		if err := removeStopped(ctx, cli, id, s); err != nil {
			return Outcome{}, err
		}
	}
	su, err := setupRun(ctx, cli, s)
	if err != nil {
		return Outcome{}, err
	}
	if !s.Keep {
		defer su.cleanup()
	}
	id, err := create(ctx, cli, name, s, su)
	if err != nil {
		su.cleanup() // nothing was kept
		return Outcome{}, err
	}
	if !s.Keep {
		defer func() {
			removeContainer(ctx, cli, id)
			s.Log.Debug("run: container removed", "bottle", s.Slug)
		}()
	}
	if s.Resume {
		if err := restoreTranscript(ctx, cli, id, s); err != nil {
			return Outcome{}, err
		}
	}
	s.Log.Debug("run: starting the container", "bottle", s.Slug, "image", s.Image)
	code, err := startAndWait(ctx, cli, id, s)
	if err != nil {
		return Outcome{}, err
	}
	s.Log.Debug("run: the container exited", "bottle", s.Slug, "code", code)
	out := Outcome{ExitCode: code}
	info, err := snapshotTranscript(snapshotContext(ctx), cli, id, s)
	if err != nil {
		out.SnapshotErr = err
	} else {
		out.Snapshot = info
	}
	return out, nil
}

// removeContainer removes the bottle's container, within removeBound
// even when ctx is canceled (the run is over either way).
func removeContainer(ctx context.Context, cli *client.Client, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeBound)
	defer cancel()
	cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
}

// existing returns the ID of a container of that name and whether it runs.
func existing(ctx context.Context, cli *client.Client, name string) (string, bool, error) {
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, engineError("looking for container "+name, err)
	}
	return res.Container.ID, res.Container.State != nil && res.Container.State.Running, nil
}

func create(ctx context.Context, cli *client.Client, name string, s Spec, su runSetup) (string, error) {
	cfg, host, err := containerConfig(s, su.paths, su.image)
	if err != nil {
		return "", err
	}
	res, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Name: name, Config: cfg, HostConfig: host})
	if err != nil {
		return "", engineError(fmt.Sprintf("creating container %s from %s", name, s.Image), err)
	}
	return res.ID, nil
}

// startAndWait attaches, starts, streams and waits for the exit code.
func startAndWait(ctx context.Context, cli *client.Client, id string, s Spec) (int, error) {
	bg := context.WithoutCancel(ctx)
	wait := cli.ContainerWait(bg, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	att, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdin: s.Stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		return 0, engineError("attaching to the bottle", err)
	}
	defer att.Close()
	restore := func() {}
	if s.TTY && s.Terminal != nil {
		if r, err := s.Terminal.MakeRaw(); err == nil {
			restore = r
		}
	}
	defer restore()
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return 0, engineError("starting the bottle", err)
	}
	if s.TTY && s.Terminal != nil {
		defer followResizes(bg, cli, id, s.Terminal)()
	}
	outDone := streams(att.HijackedResponse, s)
	return waitExit(ctx, cli, id, wait, outDone, s.Log)
}

// streams copies the bottle's output to the terminal and the terminal's
// input to the bottle; the returned channel closes when output ends.
func streams(att client.HijackedResponse, s Spec) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.TTY {
			io.Copy(s.Stdout, att.Reader)
		} else {
			stdcopy.StdCopy(s.Stdout, s.Stderr, att.Reader)
		}
	}()
	if s.Stdin != nil {
		go func() {
			io.Copy(att.Conn, s.Stdin)
			att.CloseWrite()
		}()
	}
	return done
}

// waitExit waits for the container to exit. When ctx is canceled (Ctrl-C,
// SIGTERM) the signal is passed to the agent, then SIGKILL after stopGrace.
func waitExit(ctx context.Context, cli *client.Client, id string, wait client.ContainerWaitResult, outDone <-chan struct{}, log *slog.Logger) (int, error) {
	bg := context.WithoutCancel(ctx)
	var kill, gone <-chan time.Time
	sigCh := ctx.Done()
	for {
		select {
		case res := <-wait.Result:
			select { // let the last output reach the terminal
			case <-outDone:
			case <-time.After(2 * time.Second):
				log.Debug("run: the output did not end with the container")
			}
			if res.Error != nil && res.Error.Message != "" {
				return int(res.StatusCode), fmt.Errorf("waiting for the bottle: %s", res.Error.Message)
			}
			return int(res.StatusCode), nil
		case err := <-wait.Error:
			return 0, engineError("waiting for the bottle", err)
		case <-sigCh:
			sig := signalName(context.Cause(ctx))
			log.Info("passing signal to the bottle", "signal", sig)
			killBounded(bg, cli, id, sig)
			sigCh, kill = nil, time.After(stopGrace)
		case <-kill:
			log.Warn("bottle did not stop after the signal; killing it")
			killBounded(bg, cli, id, "KILL")
			kill, gone = nil, time.After(goneBound)
		case <-gone:
			return 0, fmt.Errorf("%w: the Docker engine did not report the bottle stopped within %s of the signal; it may still run: check with docker ps, and remove it with docker rm -f %s",
				driver.ErrDaemonUnreachable, stopGrace+goneBound, id)
		}
	}
}

// killBounded sends sig to the bottle, waiting at most killBound for the
// engine to take it.
func killBounded(ctx context.Context, cli *client.Client, id, sig string) {
	ctx, cancel := context.WithTimeout(ctx, killBound)
	defer cancel()
	cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: sig})
}

// signalName returns the signal to forward for ctx's cause.
func signalName(cause error) string {
	type signaler interface{ SignalName() string }
	var s signaler
	if errors.As(cause, &s) {
		return s.SignalName()
	}
	return "INT"
}

// followResizes gives the bottle's terminal the host terminal's size now
// and again on every SIGWINCH (a window resize), until the returned stop
// is called. A full-screen agent redraws for the size it is told.
func followResizes(ctx context.Context, cli *client.Client, id string, t Terminal) (stop func()) {
	winch := make(chan os.Signal, 1)
	// Subscribed before the first resize, so that a resize between the two
	// is not lost.
	signal.Notify(winch, syscall.SIGWINCH)
	resize(ctx, cli, id, t)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-winch:
				resize(ctx, cli, id, t)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		<-finished
	}
}

// resize sets the bottle's terminal to the host terminal's size. A failure
// is not worth ending the session for: the next resize tries again.
func resize(ctx context.Context, cli *client.Client, id string, t Terminal) {
	w, h, err := t.Size()
	if err == nil && w > 0 && h > 0 {
		cli.ContainerResize(ctx, id, client.ContainerResizeOptions{Width: w, Height: h})
	}
}

// attachRunning joins a running bottle's streams until it exits.
func attachRunning(ctx context.Context, cli *client.Client, id string, s Spec) (Outcome, error) {
	wait := cli.ContainerWait(context.WithoutCancel(ctx), id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	att, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdin: s.Stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		return Outcome{}, engineError("attaching to the bottle", err)
	}
	defer att.Close()
	if s.TTY && s.Terminal != nil {
		defer followResizes(context.WithoutCancel(ctx), cli, id, s.Terminal)()
	}
	code, err := waitExit(ctx, cli, id, wait, streams(att.HijackedResponse, s), s.Log)
	return Outcome{ExitCode: code}, err
}

// DockerRunEquivalent renders the run as the docker command that would do
// the same, for --dry-run: the hardened container as Run makes it, from
// the same config. Environment values are not shown. Nothing is inspected,
// so what comes from the image, and the private folders a run makes, are
// shown as {placeholders}.
func DockerRunEquivalent(s Spec) []string {
	return dryRunArgs(s)
}
