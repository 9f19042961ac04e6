package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
)

// The lock file records, in the plugins folder, the SHA-256 of every
// installed plugin binary. The host checks it before every start.
const (
	lockFileName    = "plugins.lock.json"
	lockFileVersion = 1
	// mutexFileName is flock(2)ed around read-modify-write of the lock
	// file, so concurrent installs do not lose each other's entries.
	mutexFileName = ".lock"
)

type lockFile struct {
	Version int                  `json:"version"`
	Plugins map[string]lockEntry `json:"plugins"`
}

type lockEntry struct {
	// SHA256 is the hex SHA-256 of the installed binary.
	SHA256 string `json:"sha256"`
	// Source is the path the binary was installed from.
	Source string `json:"source,omitempty"`
	// Installed is when it was installed.
	Installed time.Time `json:"installed"`
}

func (l lockFile) names() []string {
	names := make([]string, 0, len(l.Plugins))
	for n := range l.Plugins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sum decodes the recorded checksum.
func (e lockEntry) sum(name string) ([]byte, error) {
	b, err := hex.DecodeString(e.SHA256)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%w: the lock file's checksum for %q is malformed; reinstall the plugin", ErrChecksum, name)
	}
	return b, nil
}

// readLock reads the lock file of dir; a missing file is an empty lock.
func readLock(dir string) (lockFile, error) {
	l := lockFile{Version: lockFileVersion, Plugins: map[string]lockEntry{}}
	data, err := os.ReadFile(filepath.Join(dir, lockFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("reading the plugin lock file: %w", err)
	}
	var got lockFile
	if err := json.Unmarshal(data, &got); err != nil {
		return l, fmt.Errorf("%w: the plugin lock file %s is corrupt (%v); remove it and reinstall your plugins", ErrChecksum, filepath.Join(dir, lockFileName), err)
	}
	if got.Version > lockFileVersion {
		return l, fmt.Errorf("%w: the plugin lock file %s has format %d, newer than this claude-bottle understands (%d); upgrade claude-bottle",
			ErrChecksum, filepath.Join(dir, lockFileName), got.Version, lockFileVersion)
	}
	if got.Plugins != nil {
		l.Plugins = got.Plugins
	}
	return l, nil
}

// writeLock replaces the lock file of dir atomically.
func writeLock(dir string, l lockFile) error {
	l.Version = lockFileVersion
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, lockFileName), append(data, '\n'), 0o600)
}

// withDirLock runs fn holding an exclusive flock on dir's mutex file.
func withDirLock(dir string, fn func() error) error {
	f, err := os.OpenFile(filepath.Join(dir, mutexFileName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking the plugins folder: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking the plugins folder: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}

// verifySum checks the file at path against want with a fresh go-plugin
// SecureConfig: a SecureConfig's hash is not reset between checks, so one
// may never be reused.
func verifySum(path string, want []byte) error {
	sc := &plugin.SecureConfig{Checksum: want, Hash: sha256.New()}
	ok, err := sc.Check(path)
	if err != nil {
		return fmt.Errorf("%w: checking %s: %v", ErrChecksum, path, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s has changed since it was installed (its SHA-256 is no longer %s), so it was not run; if you trust the new binary, reinstall it with claude-bottle plugin install",
			ErrChecksum, path, hex.EncodeToString(want))
	}
	return nil
}

// fileSum returns the hex SHA-256 of the file at p.
func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
