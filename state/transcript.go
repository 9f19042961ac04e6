package state

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// snapshotMeta is written inside a snapshot folder before it is put in
// place; its presence marks the snapshot whole.
const snapshotMeta = ".claude-bottle-snapshot.json"

// SnapshotInfo describes the bottle's last transcript snapshot.
type SnapshotInfo struct {
	// Taken is when the snapshot was saved.
	Taken time.Time `json:"taken"`
	// Source says where it was copied from (a container path).
	Source string `json:"source,omitempty"`
	// Files and Bytes count its regular files.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Snapshot returns the last snapshot's description; ok is false when the
// bottle has none.
func (b *Bottle) Snapshot() (info SnapshotInfo, ok bool, err error) {
	if exists, err := b.Exists(); err != nil || !exists {
		return info, false, err
	}
	b.tryRecoverTranscript()
	data, err := os.ReadFile(filepath.Join(b.TranscriptDir(), snapshotMeta))
	if errors.Is(err, os.ErrNotExist) {
		// A save in another process is between its two renames: the old
		// snapshot, aside, is the current one until the new one is in.
		data, err = os.ReadFile(filepath.Join(b.dir, ".transcript-old", snapshotMeta))
	}
	if errors.Is(err, os.ErrNotExist) {
		return info, false, nil
	}
	if err != nil {
		return info, false, fmt.Errorf("bottle %q transcript: %w", b.slug, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, false, fmt.Errorf("bottle %q transcript: damaged %s: %w", b.slug, snapshotMeta, err)
	}
	return info, true, nil
}

// swapTranscript puts the whole snapshot at tmp in place of the old one.
// Two renames cannot be one atomic step, so the old snapshot is first moved
// aside under a fixed name; recoverTranscript puts it back should the
// process die between the renames.
func (b *Bottle) swapTranscript(tmp string) error {
	cur, old := b.TranscriptDir(), filepath.Join(b.dir, ".transcript-old")
	os.RemoveAll(old)
	if err := os.Rename(cur, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("saving transcript: %w", err)
	}
	if err := os.Rename(tmp, cur); err != nil {
		os.Rename(old, cur)
		return fmt.Errorf("saving transcript: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// tryRecoverTranscript is recoverTranscript when the state lock is free
// at once; a holder may be in the middle of a swap, which is not to be
// undone.
func (b *Bottle) tryRecoverTranscript() {
	if _, err := os.Lstat(filepath.Join(b.dir, ".transcript-old")); err != nil {
		return // nothing aside: no need for the lock (nor its file)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // LockState then tries once and does not wait
	if unlock, err := b.LockState(ctx, nil); err == nil {
		b.recoverTranscript()
		unlock()
	}
}

// recoverTranscript restores a snapshot left aside by an interrupted swap;
// the caller holds the state lock.
func (b *Bottle) recoverTranscript() {
	old := filepath.Join(b.dir, ".transcript-old")
	if _, err := os.Lstat(b.TranscriptDir()); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Lstat(old); err == nil {
			os.Rename(old, b.TranscriptDir())
		}
	}
}

// SessionEntries are the names at the top of Claude Code's state folder
// that hold session data: the sessions (projects/), the prompt history,
// the sessions' todo lists and file checkpoints, and the login. A restore
// without RestoreOptions.Settings copies these only, so the agent's own
// settings.json, hooks, commands, agents and plugins (which an agent
// steered by what it read could have rewritten) do not follow it into the
// next session.
var SessionEntries = []string{"projects", "history.jsonl", "todos", "file-history", ".credentials.json"}

// RestoreOptions say what a restore copies back into the bottle.
type RestoreOptions struct {
	// Prefix is the state folder's path in the bottle, without the leading
	// "/": the stream's entries sit under it.
	Prefix string
	// ClaudeJSON is the path, without the leading "/", where the snapshot's
	// ~/.claude.json goes; "" leaves it out.
	ClaudeJSON string
	// Settings restores the whole folder; without it only SessionEntries
	// are restored.
	Settings bool
}

// WriteRestore writes the last snapshot to w as a tar stream for the
// engine to unpack at "/", as o says, holding the bottle's state lock
// (waiting until ctx ends) so that no snapshot is swapped under it. It
// returns an os.ErrNotExist error when there is no snapshot.
func (b *Bottle) WriteRestore(ctx context.Context, w io.Writer, o RestoreOptions) error {
	if _, ok, err := b.Snapshot(); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("bottle %q has no transcript snapshot: %w", b.slug, os.ErrNotExist)
	}
	unlock, err := b.LockState(ctx, nil)
	if err != nil {
		return err
	}
	defer unlock()
	b.recoverTranscript()
	if _, ok, err := b.Snapshot(); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("bottle %q has no transcript snapshot: %w", b.slug, os.ErrNotExist)
	}
	tw := tar.NewWriter(w)
	if err := b.writeTree(tw, o); err != nil {
		return fmt.Errorf("reading bottle %q transcript: %w", b.slug, err)
	}
	return tw.Close()
}

// TranscriptTar writes the whole last snapshot to w as a tar stream whose
// entries sit under prefix: WriteRestore with Settings and without
// ~/.claude.json.
func (b *Bottle) TranscriptTar(w io.Writer, prefix string) error {
	return b.WriteRestore(context.Background(), w, RestoreOptions{Prefix: prefix, Settings: true})
}

// writeTree adds the snapshot's entries o selects to tw.
func (b *Bottle) writeTree(tw *tar.Writer, o RestoreOptions) error {
	root := b.TranscriptDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !restored(rel, o.Settings) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		return addTarEntry(tw, p, path.Join(o.Prefix, rel), d)
	})
	if err != nil || o.ClaudeJSON == "" {
		return err
	}
	p := filepath.Join(root, ClaudeJSONName)
	fi, err := os.Lstat(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return addTarEntry(tw, p, o.ClaudeJSON, fs.FileInfoToDirEntry(fi))
}

// restored says whether the snapshot's entry rel goes back into the
// bottle: never the snapshot's own files, and only session data unless
// settings.
func restored(rel string, settings bool) bool {
	if rel == "." {
		return true
	}
	head, _, _ := strings.Cut(rel, "/")
	if strings.HasPrefix(head, reservedPrefix) {
		return false
	}
	return settings || slices.Contains(SessionEntries, head)
}

func addTarEntry(tw *tar.Writer, p, name string, d fs.DirEntry) error {
	fi, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if fi.Mode()&os.ModeSymlink != 0 {
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}
