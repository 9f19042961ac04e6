package launch

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/state"
)

// TranscriptOptions bound the copy of the agent's state folder out of a
// stopped bottle, and say what a resume copies back in. The zero value
// is the default: state.DefaultTranscriptLimits, DefaultSnapshotTimeout,
// sessions only.
type TranscriptOptions struct {
	// Limits bound the snapshot; zero fields take their defaults.
	Limits state.TranscriptLimits
	// Timeout bounds the whole copy; zero is DefaultSnapshotTimeout.
	Timeout time.Duration
	// ResumeSettings makes a resume restore the whole folder, the agent's
	// own settings.json, hooks, commands and agents too; without it only
	// the session data (state.SessionEntries) is restored.
	ResumeSettings bool
}

// DefaultSnapshotTimeout bounds a snapshot's copy unless the caller says
// otherwise.
const DefaultSnapshotTimeout = 5 * time.Minute

// restoreTranscript copies the bottle's last snapshot into the container
// before it starts: the session data only, unless ResumeSettings, and
// ~/.claude.json beside the state folder, byte for byte. It is
// owned as the snapshot's files are: by the host user,
// who is the agent's user too. (The engine's CopyUIDGID would look up the
// container's user, root for PID 1, in the image's passwd file, which an
// image may not have.) No snapshot is no error:
// the agent simply starts fresh.
func restoreTranscript(ctx context.Context, cli *client.Client, id string, s Spec) error {
	if _, ok, err := s.Bottle.Snapshot(); err != nil {
		return err
	} else if !ok {
		s.Log.Info("no transcript snapshot to resume from", "bottle", s.Slug)
		return nil
	}
	pr, pw := io.Pipe()
	go func() {
		o := state.RestoreOptions{
			Prefix:     strings.TrimPrefix(s.TranscriptDir, "/"),
			ClaudeJSON: strings.TrimPrefix(config.ClaudeJSONPath(s.TranscriptDir), "/"),
			Settings:   s.Transcript.ResumeSettings,
		}
		pw.CloseWithError(s.Bottle.WriteRestore(ctx, pw, o))
	}()
	_, err := cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	pr.CloseWithError(err)
	if err != nil {
		return engineError(fmt.Sprintf("restoring the transcript into %s", s.TranscriptDir), err)
	}
	return nil
}

// snapshotTranscript copies the agent's state folder out of the stopped
// container into the bottle's transcript/, whole or not at all, within the
// limits and the deadline of s.Transcript. It holds the bottle's state
// lock throughout, so no other command changes the bottle meanwhile. A
// folder the agent never created, a refused one, or a copy stopped by ctx
// leave the previous snapshot in place.
func snapshotTranscript(ctx context.Context, cli *client.Client, id string, s Spec) (*state.SnapshotInfo, error) {
	timeout := s.Transcript.Timeout
	if timeout <= 0 {
		timeout = DefaultSnapshotTimeout
	}
	// Over the deadline is over a limit like the others: a refusal.
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("%w: the copy took longer than %v (transcript.timeout in config.toml)", state.ErrTranscriptRefused, timeout))
	defer cancel()
	w, err := s.Bottle.BeginSnapshot(ctx, s.Transcript.Limits)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	if err := copyTree(ctx, cli, id, s.TranscriptDir, w); err != nil {
		return nil, err
	}
	if err := copyClaudeJSON(ctx, cli, id, config.ClaudeJSONPath(s.TranscriptDir), w); err != nil {
		return nil, err
	}
	info, err := w.Commit(bottle.ContainerName(s.Slug) + ":" + s.TranscriptDir)
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// copyTree streams the folder dir out of the container into w, which stops
// reading as soon as a limit is crossed; closing the stream then ends the
// engine's side of the copy.
func copyTree(ctx context.Context, cli *client.Client, id, dir string, w *state.SnapshotWriter) error {
	res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: dir})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("the bottle has no %s to snapshot: %w", dir, os.ErrNotExist)
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("copying the transcript out of the bottle stopped: %w", cause)
		}
		return engineError("copying the transcript out of the bottle", err)
	}
	defer res.Content.Close()
	return w.AddTree(ctx, res.Content, true, dir)
}

// snapshotContext is the context a snapshot copies under. The first signal
// (Ctrl-C) cancels ctx: if it comes during the copy, it stops the copy and
// the previous snapshot is kept. If it already came while the agent ran,
// it asked the agent to stop, not to lose its transcript: the copy then
// runs without ctx's cancellation, bounded by its deadline.
func snapshotContext(ctx context.Context) context.Context {
	if ctx.Err() != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// copyClaudeJSON stores the agent's ~/.claude.json (at file in the
// bottle; "" for none) in the snapshot: Claude Code keeps its login and
// project list there, beside its state folder, not in it. A bottle
// without one is no error.
func copyClaudeJSON(ctx context.Context, cli *client.Client, id, file string, w *state.SnapshotWriter) error {
	if file == "" {
		return nil
	}
	res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: file})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("copying %s out of the bottle stopped: %w", file, cause)
		}
		return engineError("copying "+file+" out of the bottle", err)
	}
	defer res.Content.Close()
	return w.AddClaudeJSON(ctx, res.Content)
}

// removeStopped removes the stopped container an earlier run of the
// bottle left, holding the bottle's state lock: a launch still copying
// that container's transcript holds the lock, so its snapshot is waited
// for, never cut off.
func removeStopped(ctx context.Context, cli *client.Client, id string, s Spec) error {
	name := bottle.ContainerName(s.Slug)
	if s.Bottle != nil {
		unlock, err := s.Bottle.LockState(ctx, func() {
			s.Log.Info("waiting for another command on the bottle (a transcript snapshot?) before removing its stopped container", "bottle", s.Slug)
		})
		if err != nil {
			return err
		}
		defer unlock()
	}
	if _, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return engineError("removing the stopped container "+name, err)
	}
	return nil
}
