package state

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ClaudeJSONName is where a snapshot keeps the agent's ~/.claude.json (its
// login and project list, which Claude Code keeps beside its state folder,
// not in it), byte for byte, so that a restore puts it back as it was.
const ClaudeJSONName = ".claude-bottle-claude.json"

// reservedPrefix starts the names a snapshot keeps for itself at its top;
// a stream's entries there are dropped, so that an agent can neither
// forge nor block them.
const reservedPrefix = ".claude-bottle-"

// SnapshotWriter is a new transcript snapshot being written: it holds the
// bottle's state lock from BeginSnapshot until Commit or Abort, so no other
// command can change the bottle or read a half-swapped snapshot meanwhile,
// and it writes into a temporary folder beside the old snapshot, which
// stays whole until Commit renames the new one into place.
type SnapshotWriter struct {
	b      *Bottle
	tmp    string
	root   *os.Root
	unlock func()
	bg     budget
	info   SnapshotInfo
	done   bool
	// made are the folders already made, so that a folder of many files
	// is not made again for each.
	made map[string]bool
}

// BeginSnapshot takes the bottle's state lock (waiting until ctx ends),
// checks that the state's disk has room, and starts a new snapshot bounded
// by lim (zero fields take their defaults). The caller must end it with
// Commit or Abort.
func (b *Bottle) BeginSnapshot(ctx context.Context, lim TranscriptLimits) (*SnapshotWriter, error) {
	unlock, err := b.LockState(ctx, nil)
	if err != nil {
		return nil, err
	}
	w, err := b.beginLocked(lim.WithDefaults())
	if err != nil {
		unlock()
		return nil, err
	}
	w.unlock = unlock
	return w, nil
}

func (b *Bottle) beginLocked(lim TranscriptLimits) (*SnapshotWriter, error) {
	b.recoverTranscript()
	b.sweepSnapshotTemps()
	free, size, err := diskSpace(b.dir)
	if err != nil {
		return nil, fmt.Errorf("bottle %q transcript: checking free space: %w", b.slug, err)
	}
	if free <= reserve(size) {
		return nil, fmt.Errorf("bottle %q transcript: only %s free on the state's disk (%s): the disk is full (%w); free some space and try again", b.slug, human(free), b.dir, syscall.ENOSPC)
	}
	tmp, err := os.MkdirTemp(b.dir, ".transcript-new-*")
	if err != nil {
		return nil, diskError("saving transcript", err)
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &SnapshotWriter{b: b, tmp: tmp, root: root, bg: budget{lim: lim, free: free - reserve(size)}, made: map[string]bool{}}, nil
}

// sweepSnapshotTemps removes every half-written snapshot: the caller holds
// the state lock, so none of them belongs to a write in progress.
func (b *Bottle) sweepSnapshotTemps() {
	matches, _ := filepath.Glob(filepath.Join(b.dir, ".transcript-new-*"))
	for _, m := range matches {
		os.RemoveAll(m)
	}
}

// AddTree unpacks the tar stream r, as the engine's copy of a folder
// produces it, into the snapshot. With strip, every entry sits under one
// top folder (the state folder itself), which is dropped; it must be a
// folder, not a link. top is the folder's path in the bottle: a symbolic
// link is stored as a link only when its target stays inside it. The
// stream is read only as far as the limits allow, so a refused one costs
// what was read until then. ctx ending stops it between entries (and,
// for an engine stream made with ctx, within one).
func (w *SnapshotWriter) AddTree(ctx context.Context, r io.Reader, strip bool, top string) error {
	if err := w.addTree(ctx, r, strip, top); err != nil {
		return fmt.Errorf("bottle %q transcript: %w", w.b.slug, err)
	}
	return nil
}

func (w *SnapshotWriter) addTree(ctx context.Context, r io.Reader, strip bool, top string) error {
	tr := tar.NewReader(r)
	for {
		if err := context.Cause(ctx); err != nil {
			return fmt.Errorf("copy stopped: %w", err)
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if cerr := context.Cause(ctx); cerr != nil {
				return fmt.Errorf("copy stopped: %w", cerr)
			}
			return fmt.Errorf("reading snapshot stream: %w", err)
		}
		if err := checkEntryName(hdr.Name); err != nil {
			return err
		}
		name := entryName(hdr.Name, strip)
		if name == "" {
			if strip && hdr.Typeflag != tar.TypeDir {
				return refused("the state folder %s in the bottle is not a folder (a symbolic link or a file)", short(top))
			}
			continue
		}
		if err := w.bg.admit(name, hdr.Size); err != nil {
			return err
		}
		if head, _, _ := strings.Cut(name, "/"); strings.HasPrefix(head, reservedPrefix) {
			continue // ours to write: an entry there would forge or block it
		}
		if hdr.Typeflag == tar.TypeSymlink {
			if err := checkLink(name, hdr.Linkname, top); err != nil {
				return err
			}
		}
		n, err := w.extract(name, hdr, tr)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return fmt.Errorf("copy stopped: %w", cause) // the stream was cut for it
			}
			return diskError(fmt.Sprintf("unpacking %q", short(hdr.Name)), err)
		}
		if hdr.Typeflag == tar.TypeReg {
			w.info.Files++
			w.info.Bytes += n
		}
	}
}

// AddClaudeJSON stores the file of the tar stream r (the engine's copy of
// the agent's ~/.claude.json) as ClaudeJSONName, byte for byte. Anything
// but one regular file is refused.
func (w *SnapshotWriter) AddClaudeJSON(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		if cerr := context.Cause(ctx); cerr != nil {
			err = fmt.Errorf("copy stopped: %w", cerr)
		}
		return fmt.Errorf("bottle %q transcript: reading ~/.claude.json: %w", w.b.slug, err)
	}
	if hdr.Typeflag != tar.TypeReg {
		return fmt.Errorf("bottle %q transcript: %w", w.b.slug, refused("~/.claude.json in the bottle is not a regular file"))
	}
	if err := w.bg.admit(".claude.json", hdr.Size); err != nil {
		return fmt.Errorf("bottle %q transcript: %w", w.b.slug, err)
	}
	if _, err := w.extract(ClaudeJSONName, hdr, tr); err != nil {
		return diskError("saving ~/.claude.json", err)
	}
	return nil
}

// Commit marks the snapshot whole, puts it in place of the old one and
// releases the lock. source says where it was copied from.
func (w *SnapshotWriter) Commit(source string) (SnapshotInfo, error) {
	defer w.Abort()
	info := w.info
	info.Taken, info.Source = time.Now().UTC(), source
	meta, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFileAtomic(filepath.Join(w.tmp, snapshotMeta), meta, 0o600); err != nil {
		return SnapshotInfo{}, err
	}
	// One sync of the whole file system instead of one per file: a
	// thousand small files must not mean a thousand fsyncs.
	if err := syncFS(w.tmp); err != nil {
		return SnapshotInfo{}, diskError("saving transcript", err)
	}
	if err := w.b.swapTranscript(w.tmp); err != nil {
		return SnapshotInfo{}, err
	}
	return info, nil
}

// Abort drops the new snapshot, keeping the old one, and releases the
// lock. It does nothing after Commit or a first Abort.
func (w *SnapshotWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.root.Close()
	os.RemoveAll(w.tmp)
	if w.unlock != nil {
		w.unlock()
	}
}

// SaveTranscript replaces the bottle's transcript snapshot with the files
// of the tar stream r, as `docker cp` produces it (entries under one top
// folder are stripped of it when strip is true), within the default
// limits. It is BeginSnapshot, AddTree and Commit in one.
func (b *Bottle) SaveTranscript(r io.Reader, source string, strip bool) (SnapshotInfo, error) {
	w, err := b.BeginSnapshot(context.Background(), TranscriptLimits{})
	if err != nil {
		return SnapshotInfo{}, err
	}
	defer w.Abort()
	if err := w.AddTree(context.Background(), r, strip, ""); err != nil {
		return SnapshotInfo{}, err
	}
	return w.Commit(source)
}

// diskSpace returns the space available to this user on dir's disk, and
// the disk's size.
func diskSpace(dir string) (free, size int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// entryName cleans a tar entry name (already checked by checkEntryName)
// to a relative path, dropping the top folder when strip is set; ""
// means the top folder itself.
func entryName(name string, strip bool) string {
	name = path.Clean("/" + strings.TrimPrefix(name, "./"))[1:]
	if strip {
		_, rest, _ := strings.Cut(name, "/")
		name = rest
	}
	return name
}

// extract writes one entry into the snapshot. Regular files are not
// synced one by one: Commit syncs the file system once.
func (w *SnapshotWriter) extract(name string, hdr *tar.Header, r io.Reader) (int64, error) {
	root := w.root
	if dir := path.Dir(name); dir != "." && !w.made[dir] {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return 0, err
		}
		w.made[dir] = true
	}
	mode := os.FileMode(hdr.Mode).Perm() & 0o755
	switch hdr.Typeflag {
	case tar.TypeDir:
		w.made[name] = true
		return 0, root.MkdirAll(name, mode|0o700)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return n, err
	case tar.TypeSymlink:
		return 0, root.Symlink(hdr.Linkname, name)
	default:
		return 0, nil // devices, fifos, hard links: not agent state
	}
}
