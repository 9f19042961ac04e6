package state

// Generic file helpers for packages that keep their own files in a bottle's
// folder (requests/, and later capabilities and audit): a checked
// subfolder, atomic writes into it, bounded reads, listings, and flock(2)
// locks. State knows nothing of what the files hold.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ErrTooLarge classes a file refused by ReadFile because it is larger than
// the caller allows.
var ErrTooLarge = errors.New("file too large")

// checkElem refuses anything but one plain path element: a subfolder or file
// name from a caller must never climb out of the bottle's folder.
func checkElem(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`+"\x00") {
		return fmt.Errorf("%s %q is not a plain file name", what, name)
	}
	return nil
}

// SubdirPath returns the path of the bottle's subfolder sub (it may not
// exist). sub must be one plain path element.
func (b *Bottle) SubdirPath(sub string) (string, error) {
	if err := checkElem("subfolder", sub); err != nil {
		return "", err
	}
	return filepath.Join(b.dir, sub), nil
}

// EnsureSubdir creates the bottle's folder and its subfolder sub (both 0700)
// and returns the subfolder's path. A folder on the way that another user
// could change, or a symbolic link, is refused with ErrUnsafe. Leftovers of
// crashed atomic writes older than an hour are swept from the subfolder.
func (b *Bottle) EnsureSubdir(sub string) (string, error) {
	dir, err := b.SubdirPath(sub)
	if err != nil {
		return "", err
	}
	if err := b.ensure(); err != nil {
		return "", fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if err := mkdirSafe(dir); err != nil {
		return "", fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	sweepTemp(dir, time.Now().Add(-staleAfter))
	return dir, nil
}

// sweepTemp removes temporary files of atomic writes (".NAME.tmp-*") older
// than before: a younger one may belong to a write in progress.
func sweepTemp(dir string, before time.Time) {
	matches, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, m := range matches {
		if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().Before(before) {
			os.Remove(m)
		}
	}
}

// existingSubdir returns the subfolder's path and whether it exists,
// refusing an unsafe one (or an unsafe folder on the way to it).
func (b *Bottle) existingSubdir(sub string) (string, bool, error) {
	dir, err := b.SubdirPath(sub)
	if err != nil {
		return "", false, err
	}
	exists, err := b.Exists()
	if err != nil || !exists {
		return dir, false, err
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return dir, false, nil
	} else if err != nil {
		return dir, false, err
	}
	if err := checkSafeDir(dir); err != nil {
		return dir, false, err
	}
	return dir, true, nil
}

// WriteFile writes data as the file name in the bottle's subfolder sub,
// atomically (readers see the old file or the new one whole) and mode 0600.
// The folders are created as EnsureSubdir creates them.
func (b *Bottle) WriteFile(sub, name string, data []byte) error {
	if err := checkElem("file", name); err != nil {
		return err
	}
	dir, err := b.EnsureSubdir(sub)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (a symbolic link?); remove it", ErrUnsafe, path)
	}
	return writeFileAtomic(path, data, 0o600)
}

// ReadFile reads the file name in the bottle's subfolder sub. A missing file
// (or folder) is os.ErrNotExist; a symbolic link, a file another user could
// change, or one larger than max bytes is refused.
func (b *Bottle) ReadFile(sub, name string, max int64) ([]byte, error) {
	if err := checkElem("file", name); err != nil {
		return nil, err
	}
	dir, ok, err := b.existingSubdir(sub)
	if err != nil {
		return nil, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	path := filepath.Join(dir, name)
	if !ok {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link; remove it", ErrUnsafe, path)
		}
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file; remove it", ErrUnsafe, path)
	}
	if err := checkSafeFile(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, path, max)
	}
	return data, nil
}

// FileInfo describes one file listed by ListFiles.
type FileInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
	// Inode tells a file replaced by an atomic write from the old one even
	// when size and time agree.
	Inode uint64
}

// ListFiles lists the regular files of the bottle's subfolder sub whose
// names end in suffix, sorted by name, skipping hidden files (locks and
// temporary files start with a dot). A missing folder lists nothing.
func (b *Bottle) ListFiles(sub, suffix string) ([]FileInfo, error) {
	dir, ok, err := b.existingSubdir(sub)
	if err != nil {
		return nil, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if !ok {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []FileInfo
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, suffix) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed since ReadDir
		}
		info := FileInfo{Name: n, Size: fi.Size(), ModTime: fi.ModTime()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			info.Inode = uint64(st.Ino)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// lockPoll bounds how long Lock sleeps between tries: flock(2) cannot wait
// on a context, so Lock polls a non-blocking lock.
const lockPoll = 20 * time.Millisecond

// Lock takes an exclusive flock(2) on the file name (a plain file name,
// usually hidden, like ".state.lock") in the bottle's folder, waiting until
// it is free or ctx ends. The returned function releases it. The lock is
// held by the open file, so it is released when the process dies, and two
// Locks in one process exclude each other too.
func (b *Bottle) Lock(ctx context.Context, name string) (unlock func(), err error) {
	f, err := b.openLock(name)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return unlockFunc(f), nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the lock %s: %w", f.Name(), context.Cause(ctx))
		case <-time.After(lockPoll):
		}
	}
}

// TryLock is Lock without waiting: ok is false, with a nil error, when
// someone else holds the lock.
func (b *Bottle) TryLock(name string) (unlock func(), ok bool, err error) {
	f, ok, err := b.tryLockFile(name)
	if !ok {
		return nil, false, err
	}
	return unlockFunc(f), true, nil
}

// tryLockFile opens the lock file name and takes its flock without
// waiting: ok is false, with a nil error, when someone else holds it.
func (b *Bottle) tryLockFile(name string) (f *os.File, ok bool, err error) {
	f, err = b.openLock(name)
	if err != nil {
		return nil, false, err
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, false, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("locking %s: %w", f.Name(), err)
	}
	return f, true, nil
}

// openLock opens (creating, 0600) the lock file without following a
// symbolic link.
func (b *Bottle) openLock(name string) (*os.File, error) {
	if err := checkElem("lock file", name); err != nil {
		return nil, err
	}
	if err := b.ensure(); err != nil {
		return nil, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	path := filepath.Join(b.dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symbolic link; remove it", ErrUnsafe, path)
		}
		return nil, diskError("opening lock "+path, err)
	}
	return f, nil
}

func unlockFunc(f *os.File) func() {
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// TryLockTransient is TryLock for a lock whose file should not outlive
// its holder (a run lock, say: a bottle that is not running keeps no trace
// of it). Release removes the file while still holding the lock. Whoever
// locked the removed file in the meantime finds that it is no longer the
// file at the path and tries again, so two holders never hold two
// different files. Every user of name must take it this way.
func (b *Bottle) TryLockTransient(name string) (release func(), ok bool, err error) {
	for range 5 {
		f, ok, err := b.tryLockFile(name)
		if !ok {
			return nil, false, err
		}
		if atPath(f) {
			unlock := unlockFunc(f)
			return func() { os.Remove(f.Name()); unlock() }, true, nil
		}
		unlockFunc(f)()
	}
	return nil, false, fmt.Errorf("locking %s: its file kept being replaced; try again", filepath.Join(b.dir, name))
}

// atPath reports whether the open file f is still the file at its path.
func atPath(f *os.File) bool {
	held, err := f.Stat()
	if err != nil {
		return false
	}
	now, err := os.Lstat(f.Name())
	return err == nil && os.SameFile(held, now)
}
