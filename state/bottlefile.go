package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// This file gives the packages above state (capability, request) the
// bottle folder's files by name, with the same guarantees as the override:
// atomic writes, no symbolic links, nothing another user could change, and
// a lock that serialises read-modify-write changes across processes.

// StateLockName is the lock file that serialises changes to a bottle's
// state: whoever holds it may read, decide and write without losing
// another process's write.
const StateLockName = ".state.lock"

// stateLockPoll is how often a waiting Lock tries again.
const stateLockPoll = 50 * time.Millisecond

// checkName refuses a file name that is not one or two plain path
// components inside the bottle's folder ("capabilities.json",
// "previous/Dockerfile"): names are the callers' constants, so a bad one
// is a bug, but it must never become a path outside the folder.
func checkName(name string) error {
	parts := strings.Split(name, "/")
	if name == "" || len(parts) > 2 || filepath.Clean(name) != name || filepath.IsAbs(name) {
		return fmt.Errorf("state: file name %q is not a plain name inside the bottle's folder", name)
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("state: file name %q is not a plain name inside the bottle's folder", name)
		}
	}
	return nil
}

// FilePath returns where the file name lives in the bottle's folder.
func (b *Bottle) FilePath(name string) string { return filepath.Join(b.dir, filepath.FromSlash(name)) }

// ReadFile reads the file name of the bottle's folder. ok is false, with a
// nil error, when it does not exist. A symbolic link, a file that is not
// regular, or one another user could change is refused.
func (b *Bottle) ReadFileAt(name string) (data []byte, ok bool, err error) {
	if err := checkName(name); err != nil {
		return nil, false, err
	}
	if exists, err := b.Exists(); err != nil || !exists {
		return nil, false, err
	}
	path := b.FilePath(name)
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%w: %s is not a regular file (a symbolic link?); move it away", ErrUnsafe, path)
	}
	if err := checkSafeFile(path, fi); err != nil {
		return nil, false, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("bottle %q: reading %s: %w", b.slug, path, err)
	}
	return data, true, nil
}

// WriteFile writes data as the file name of the bottle's folder,
// atomically, creating the folder (and a subfolder named in name) first.
func (b *Bottle) WriteFileAt(name string, data []byte, perm os.FileMode) error {
	if err := b.ensureFor(name); err != nil {
		return err
	}
	path := b.FilePath(name)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (a symbolic link?); move it away", ErrUnsafe, path)
	}
	return writeFileAtomic(path, data, perm)
}

// RemoveFile removes the file name from the bottle's folder; a file that
// is already absent is no error.
func (b *Bottle) RemoveFileAt(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if exists, err := b.Exists(); err != nil || !exists {
		return err
	}
	err := os.Remove(b.FilePath(name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if err == nil {
		return syncDir(filepath.Dir(b.FilePath(name)))
	}
	return nil
}

// AppendFile appends data to the file name of the bottle's folder (mode
// 0600), in one write, and syncs it: for append-only logs. Callers that
// need appends from several processes in order hold Lock.
func (b *Bottle) AppendFileAt(name string, data []byte) error {
	if err := b.ensureFor(name); err != nil {
		return err
	}
	path := b.FilePath(name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|oNoFollow, 0o600)
	if err != nil {
		return diskError("appending to "+path, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%w: %s is not a regular file; move it away", ErrUnsafe, path)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return diskError("appending to "+path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return diskError("appending to "+path, err)
	}
	return f.Close()
}

// ReplaceDir makes the subfolder name of the bottle's folder hold exactly
// files (file name -> content), all at once: they are written into a new
// folder which is then renamed over the old one, so a reader or a crash
// sees the old set or the new set, never a mix.
func (b *Bottle) ReplaceDir(name string, files map[string][]byte) error {
	if err := checkName(name); err != nil || strings.Contains(name, "/") {
		return fmt.Errorf("state: folder name %q is not a plain name inside the bottle's folder", name)
	}
	if err := b.ensure(); err != nil {
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	tmp, err := os.MkdirTemp(b.dir, ".new-"+name+"-*")
	if err != nil {
		return diskError("writing "+b.FilePath(name), err)
	}
	defer os.RemoveAll(tmp)
	for f, data := range files {
		if err := checkName(f); err != nil || strings.Contains(f, "/") {
			return fmt.Errorf("state: file name %q is not a plain name", f)
		}
		if err := writeFileAtomic(filepath.Join(tmp, f), data, 0o600); err != nil {
			return err
		}
	}
	dest := b.FilePath(name)
	old := tmp + ".old"
	if err := os.Rename(dest, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Rename(old, dest)
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	os.RemoveAll(old)
	return syncDir(b.dir)
}

// ReadDir reads every regular file of the subfolder name (file name ->
// content); ok is false when the subfolder does not exist.
func (b *Bottle) ReadDirFiles(name string) (files map[string][]byte, ok bool, err error) {
	if err := checkName(name); err != nil {
		return nil, false, err
	}
	if exists, err := b.Exists(); err != nil || !exists {
		return nil, false, err
	}
	dir := b.FilePath(name)
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err := checkSafeDir(dir); err != nil {
		return nil, false, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	files = map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, ok, err := b.ReadFileAt(name + "/" + e.Name())
		if err != nil {
			return nil, false, err
		}
		if ok {
			files[e.Name()] = data
		}
	}
	return files, true, nil
}

// Lock takes the bottle's state lock (StateLockName, an flock), creating
// the bottle's folder if needed, and returns the function that releases
// it. It waits while another process holds the lock, calling waiting once
// (when not nil) so the caller can say why it pauses, until ctx ends. The
// lock dies with its process, so a crash never leaves a bottle locked.
func (b *Bottle) LockState(ctx context.Context, waiting func()) (unlock func(), err error) {
	if err := b.ensure(); err != nil {
		return nil, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	path := b.FilePath(StateLockName)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (a symbolic link?); move it away", ErrUnsafe, path)
	}
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR|oNoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		if waiting != nil {
			waiting()
		}
		ok, err = fl.TryLockContext(ctx, stateLockPoll)
	}
	if err != nil || !ok {
		fl.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for the lock on bottle %q (%s): %w", b.slug, path, context.Cause(ctx))
		}
		return nil, fmt.Errorf("locking bottle %q (%s): %w", b.slug, path, err)
	}
	return func() { fl.Unlock(); fl.Close() }, nil
}

// ensureFor creates the bottle's folder and, for a name in a subfolder,
// that subfolder (0700).
func (b *Bottle) ensureFor(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := b.ensure(); err != nil {
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if dir, _, ok := strings.Cut(name, "/"); ok {
		if err := mkdirSafe(filepath.Join(b.dir, dir)); err != nil {
			return fmt.Errorf("bottle %q: %w", b.slug, err)
		}
	}
	return nil
}
