// Package state keeps each bottle's persistent state under
// <root>/state/<slug>/: an optional Dockerfile override and the transcript/
// snapshot of the agent's last saved state. Every write is atomic (a
// temporary file in the same folder, synced, renamed), and every slug is
// validated before it becomes a path.
//
// It stores files and nothing more: what an override means (which image a
// bottle builds, package bottle) and whether it is a valid Dockerfile
// (package dockerfile) are decided elsewhere.
package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Names of the files and folders inside a bottle's folder.
const (
	DockerfileName = "Dockerfile"
	TranscriptName = "transcript"
)

// Store is the state root, usually ~/.claude-bottle.
type Store struct {
	root string
}

// ErrUnsafe classes state paths refused because another user could change
// them: symbolic links, foreign owners, group- or world-writable folders.
var ErrUnsafe = errors.New("unsafe state path")

// DefaultRoot returns $CLAUDE_BOTTLE_HOME, else ~/.claude-bottle.
func DefaultRoot() (string, error) {
	if h := os.Getenv("CLAUDE_BOTTLE_HOME"); h != "" {
		return filepath.Abs(h)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your home folder (%v): set CLAUDE_BOTTLE_HOME", err)
	}
	return filepath.Join(home, ".claude-bottle"), nil
}

// Open returns the store at root. It creates nothing: folders appear on the
// first write, so that read-only commands leave no trace.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("state root %q: %w", root, err)
	}
	return &Store{root: abs}, nil
}

// Root returns the store's root folder.
func (s *Store) Root() string { return s.root }

// StateDir returns <root>/state, the parent of every bottle's folder.
func (s *Store) StateDir() string { return filepath.Join(s.root, "state") }

// Bottle returns the state of one bottle. The slug is validated first.
func (s *Store) Bottle(slug string) (*Bottle, error) {
	if err := ValidateSlug(slug); err != nil {
		return nil, err
	}
	return &Bottle{store: s, slug: slug, dir: filepath.Join(s.StateDir(), slug)}, nil
}

// List returns the slugs of every bottle that has a state folder, sorted.
// Entries that are not valid slugs (the format file, stray files) are
// skipped.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.StateDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing bottles: %w", err)
	}
	var slugs []string
	for _, e := range entries {
		if e.IsDir() && ValidateSlug(e.Name()) == nil {
			slugs = append(slugs, e.Name())
		}
	}
	sort.Strings(slugs)
	return slugs, nil
}

// ensureDirs creates <root>, <root>/state (0700) and the format file, and
// runs pending migrations.
func (s *Store) ensureDirs() error {
	// The root's parents are the user's (CLAUDE_BOTTLE_HOME may name a
	// folder not made yet); only the root and below get the 0700 checks.
	if err := os.MkdirAll(filepath.Dir(s.root), 0o755); err != nil {
		return diskError(fmt.Sprintf("creating %s", filepath.Dir(s.root)), err)
	}
	for _, d := range []string{s.root, s.StateDir()} {
		if err := mkdirSafe(d); err != nil {
			return err
		}
	}
	return s.migrate()
}

// mkdirSafe creates dir 0700 if absent and refuses one that is a symbolic
// link or that other users could write to.
func mkdirSafe(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return diskError(fmt.Sprintf("creating %s", dir), err)
	}
	return checkSafeDir(dir)
}

// checkSafeDir refuses a folder that is a symbolic link, is not a folder, is
// owned by someone else, or is writable by group or others.
func checkSafeDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%w: %s is a symbolic link; replace it with a real folder (mkdir -m 700)", ErrUnsafe, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a folder; move it away", ErrUnsafe, dir)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by other users (mode %04o); run chmod go-w %s", ErrUnsafe, dir, fi.Mode().Perm(), dir)
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, not you (%d); chown it or choose another CLAUDE_BOTTLE_HOME", ErrUnsafe, dir, uid, os.Geteuid())
	}
	return nil
}

// CheckRoot refuses a state root, or its state folder, that another user
// could change (a symbolic link, a foreign owner, group- or
// world-writable), as every write refuses it; absent folders pass. Reads
// that use the root without writing (a fresh bottle, the default repo)
// call it, so that they trust no more than a write would.
func (s *Store) CheckRoot() error {
	for _, d := range []string{s.root, s.StateDir()} {
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := checkSafeDir(d); err != nil {
			return err
		}
	}
	return nil
}

// CheckOwned refuses each existing path that another user could change: a
// symbolic link, a folder or file not yours, or one writable by group or
// others. Absent paths pass. It is for what claude-bottle keeps under the
// state root besides bottles (the default repo).
func CheckOwned(paths ...string) error {
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			err = checkSafeDir(p)
		case fi.Mode()&os.ModeSymlink != 0:
			err = fmt.Errorf("%w: %s is a symbolic link; remove it", ErrUnsafe, p)
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("%w: %s is not a regular file; remove it", ErrUnsafe, p)
		default:
			err = checkSafeFile(p, fi)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSafeFile refuses a file (fi is its Lstat) that is writable by group
// or others or owned by someone else: another user could choose what the
// bottle builds.
func checkSafeFile(path string, fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%w: %s is writable by other users (mode %04o); run chmod go-w %s", ErrUnsafe, path, fi.Mode().Perm(), path)
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, not you (%d); chown it or remove it", ErrUnsafe, path, uid, os.Geteuid())
	}
	return nil
}

// diskError words an I/O error for the user, naming a full disk plainly.
func diskError(what string, err error) error {
	if isNoSpace(err) {
		return fmt.Errorf("%s: the disk is full (%w); free some space and try again", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
