package launch

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// restoreTranscript copies the bottle's last snapshot into the container
// before it starts, owned as the snapshot's files are: by the host user,
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
		pw.CloseWithError(s.Bottle.TranscriptTar(pw, strings.TrimPrefix(s.TranscriptDir, "/")))
	}()
	_, err := cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: pr})
	pr.CloseWithError(err)
	if err != nil {
		return engineError(fmt.Sprintf("restoring the transcript into %s", s.TranscriptDir), err)
	}
	return nil
}

// snapshotTranscript copies the agent's state folder out of the stopped
// container into the bottle's transcript/, whole or not at all. A folder
// the agent never created leaves the previous snapshot in place.
func snapshotTranscript(ctx context.Context, cli *client.Client, id string, s Spec) (*state.SnapshotInfo, error) {
	res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: s.TranscriptDir})
	if cerrdefs.IsNotFound(err) {
		return nil, fmt.Errorf("the bottle has no %s to snapshot: %w", s.TranscriptDir, os.ErrNotExist)
	}
	if err != nil {
		return nil, engineError("copying the transcript out of the bottle", err)
	}
	defer res.Content.Close()
	info, err := s.Bottle.SaveTranscript(res.Content, bottle.ContainerName(s.Slug)+":"+s.TranscriptDir, true)
	if err != nil {
		return nil, err
	}
	return &info, nil
}
