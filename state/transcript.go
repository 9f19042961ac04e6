package state

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
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
	b.recoverTranscript()
	data, err := os.ReadFile(filepath.Join(b.TranscriptDir(), snapshotMeta))
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

// SaveTranscript replaces the bottle's transcript snapshot with the files of
// the tar stream r, as `docker cp` produces it (entries under one top
// folder are stripped of it when strip is true). The new snapshot is
// unpacked beside the old one and swapped in only when whole: a failure at
// any point leaves the previous snapshot as it was.
func (b *Bottle) SaveTranscript(r io.Reader, source string, strip bool) (SnapshotInfo, error) {
	if err := b.ensure(); err != nil {
		return SnapshotInfo{}, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	b.recoverTranscript()
	tmp, err := os.MkdirTemp(b.dir, ".transcript-new-*")
	if err != nil {
		return SnapshotInfo{}, diskError("saving transcript", err)
	}
	defer os.RemoveAll(tmp)
	info, err := untar(tmp, r, strip)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("bottle %q transcript: %w", b.slug, err)
	}
	info.Taken, info.Source = time.Now().UTC(), source
	meta, _ := json.MarshalIndent(info, "", "  ")
	if err := writeFileAtomic(filepath.Join(tmp, snapshotMeta), meta, 0o600); err != nil {
		return SnapshotInfo{}, err
	}
	if err := syncDir(tmp); err != nil {
		return SnapshotInfo{}, err
	}
	return info, b.swapTranscript(tmp)
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

// recoverTranscript restores a snapshot left aside by an interrupted swap.
func (b *Bottle) recoverTranscript() {
	old := filepath.Join(b.dir, ".transcript-old")
	if _, err := os.Lstat(b.TranscriptDir()); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Lstat(old); err == nil {
			os.Rename(old, b.TranscriptDir())
		}
	}
}

// TranscriptTar writes the last snapshot to w as a tar stream whose entries
// sit under prefix (the folder name the container expects), without the
// snapshot's own metadata file. It returns ErrNotFound-like os.ErrNotExist
// when there is no snapshot.
func (b *Bottle) TranscriptTar(w io.Writer, prefix string) error {
	if _, ok, err := b.Snapshot(); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("bottle %q has no transcript snapshot: %w", b.slug, os.ErrNotExist)
	}
	tw := tar.NewWriter(w)
	root := b.TranscriptDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == snapshotMeta {
			return nil
		}
		name := path.Join(prefix, filepath.ToSlash(rel))
		return addTarEntry(tw, p, name, d)
	})
	if err != nil {
		return fmt.Errorf("reading bottle %q transcript: %w", b.slug, err)
	}
	return tw.Close()
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

// untar unpacks r into dir through an os.Root, so no entry (however named,
// and whatever links came before it) can land outside dir.
func untar(dir string, r io.Reader, strip bool) (SnapshotInfo, error) {
	var info SnapshotInfo
	root, err := os.OpenRoot(dir)
	if err != nil {
		return info, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return info, nil
		}
		if err != nil {
			return info, fmt.Errorf("reading snapshot stream: %w", err)
		}
		name := entryName(hdr.Name, strip)
		if name == "" || name == snapshotMeta || strings.HasPrefix(name, snapshotMeta+"/") {
			continue // the marker is ours to write: an entry there would block it
		}
		n, err := extract(root, name, hdr, tr)
		if err != nil {
			return info, diskError(fmt.Sprintf("unpacking %q", hdr.Name), err)
		}
		if hdr.Typeflag == tar.TypeReg {
			info.Files++
			info.Bytes += n
		}
	}
}

// entryName cleans a tar entry name to a relative path, dropping the top
// folder when strip is set; "" means skip the entry.
func entryName(name string, strip bool) string {
	name = path.Clean("/" + strings.TrimPrefix(name, "./"))[1:]
	if strip {
		_, rest, _ := strings.Cut(name, "/")
		name = rest
	}
	return name
}

func extract(root *os.Root, name string, hdr *tar.Header, r io.Reader) (int64, error) {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return 0, err
		}
	}
	mode := os.FileMode(hdr.Mode).Perm() & 0o755
	switch hdr.Typeflag {
	case tar.TypeDir:
		return 0, root.MkdirAll(name, mode|0o700)
	case tar.TypeReg:
		f, err := root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode|0o600)
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(f, r)
		if err == nil {
			err = f.Sync()
		}
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
