package launch

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Claude Code keeps its login and project list in ~/.claude.json, beside
// its state folder ~/.claude/: a resumed session needs both. The snapshot
// keeps it as ClaudeJSONFile in the bottle's state folder.

// ClaudeJSONFile is the copy of the agent's ~/.claude.json in a bottle's
// state folder.
const ClaudeJSONFile = "claude.json"

// maxClaudeJSON bounds the copy: the file is a small JSON document.
const maxClaudeJSON = 16 << 20

// claudeJSONPath is ~/.claude.json in the bottle for a transcript folder
// named .claude, else "" (another config folder keeps it inside).
func claudeJSONPath(transcriptDir string) string {
	if path.Base(transcriptDir) != ".claude" {
		return ""
	}
	return transcriptDir + ".json"
}

// snapshotClaudeJSON copies ~/.claude.json out of the stopped container;
// a bottle without one keeps the previous copy.
func snapshotClaudeJSON(ctx context.Context, cli *client.Client, id string, s Spec) error {
	p := claudeJSONPath(s.TranscriptDir)
	if p == "" || s.Bottle == nil {
		return nil
	}
	res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: p})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return engineError("copying "+p+" out of the bottle", err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(res.Content)
	hdr, err := tr.Next()
	if err != nil {
		return fmt.Errorf("reading %s from the bottle: %w", p, err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size > maxClaudeJSON {
		return fmt.Errorf("%s in the bottle is not a regular file of at most %d bytes; not saved", p, maxClaudeJSON)
	}
	data, err := io.ReadAll(io.LimitReader(tr, maxClaudeJSON))
	if err != nil {
		return fmt.Errorf("reading %s from the bottle: %w", p, err)
	}
	return s.Bottle.WriteFileAt(ClaudeJSONFile, data, 0o600)
}

// restoreClaudeJSON copies the saved ~/.claude.json into the container
// before it starts, owned by the agent's user.
func restoreClaudeJSON(ctx context.Context, cli *client.Client, id string, s Spec) error {
	p := claudeJSONPath(s.TranscriptDir)
	if p == "" || s.Bottle == nil {
		return nil
	}
	data, ok, err := s.Bottle.ReadFileAt(ClaudeJSONFile)
	if err != nil || !ok {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: 0o600, Size: int64(len(data)), Uid: s.UID, Gid: s.GID, ModTime: time.Now(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	tw.Write(data)
	if err := tw.Close(); err != nil {
		return err
	}
	if _, err := cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: &buf}); err != nil {
		return engineError("restoring "+p+" into the bottle", err)
	}
	return nil
}
