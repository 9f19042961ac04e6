package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Bottle is one bottle's state folder, <root>/state/<slug>/.
type Bottle struct {
	store *Store
	slug  string
	dir   string
}

// Slug returns the bottle's slug.
func (b *Bottle) Slug() string { return b.slug }

// Dir returns the bottle's state folder (it may not exist yet).
func (b *Bottle) Dir() string { return b.dir }

// DockerfilePath returns where the bottle's override lives (it may not
// exist).
func (b *Bottle) DockerfilePath() string { return filepath.Join(b.dir, DockerfileName) }

// TranscriptDir returns where the bottle's transcript snapshot lives.
func (b *Bottle) TranscriptDir() string { return filepath.Join(b.dir, TranscriptName) }

// Exists reports whether the bottle has a state folder. A folder on the way
// to it (the root, <root>/state) or the folder itself that another user
// could change is refused, as the writes refuse it, whether the bottle's
// folder exists or not.
func (b *Bottle) Exists() (bool, error) {
	_, err := os.Lstat(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		// A fresh bottle: nothing of its own yet, but the root it would
		// be made in must be as safe as for one that exists.
		return false, b.store.CheckRoot()
	}
	if err != nil {
		return false, err
	}
	for _, d := range []string{b.store.root, b.store.StateDir(), b.dir} {
		if err := checkSafeDir(d); err != nil {
			return true, err
		}
	}
	return true, nil
}

// ensure creates the bottle's folder (0700) and its parents. An unsafe
// folder already there is refused first, so a refused write writes nothing
// (not even the format file).
func (b *Bottle) ensure() error {
	if _, err := os.Lstat(b.dir); err == nil {
		if err := checkSafeDir(b.dir); err != nil {
			return err
		}
	}
	if err := b.store.ensureDirs(); err != nil {
		return err
	}
	if err := mkdirSafe(b.dir); err != nil {
		return err
	}
	sweepStale(b.dir, time.Now().Add(-staleAfter))
	return nil
}

// staleAfter is the age past which a temporary file or folder left in a
// bottle's folder is taken for the remains of a crashed write: every write
// finishes in far less.
const staleAfter = time.Hour

// staleWork names what an interrupted write leaves behind: the Dockerfile's
// temporary file and a half-unpacked transcript.
var staleWork = []string{"." + DockerfileName + ".tmp-*", ".transcript-new-*"}

// sweepStale removes leftovers of crashed writes older than before. A
// younger one may belong to a write in progress, so it is left alone.
func sweepStale(dir string, before time.Time) {
	for _, pattern := range staleWork {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			if fi, err := os.Lstat(m); err == nil && fi.ModTime().Before(before) {
				os.RemoveAll(m)
			}
		}
	}
}

// Override reads the bottle's Dockerfile override. ok is false, with a nil
// error, when the bottle has none: then the repo's Dockerfile is used.
func (b *Bottle) Override() (data []byte, ok bool, err error) {
	path, ok, err := b.OverridePath()
	if err != nil || !ok {
		return nil, ok, err
	}
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("reading bottle %q override %s: %w", b.slug, path, err)
	}
	return data, true, nil
}

// OverridePath returns the override's path and whether it exists. An
// override that is a symbolic link or not a regular file is refused, as is
// a state folder another user could change.
func (b *Bottle) OverridePath() (string, bool, error) {
	exists, err := b.Exists()
	if err != nil {
		return "", false, fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if !exists {
		return "", false, nil
	}
	path := b.DockerfilePath()
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("bottle %q override: %w", b.slug, err)
	}
	if !fi.Mode().IsRegular() {
		return "", false, fmt.Errorf("%w: %s is not a regular file (a symbolic link?); run `claude-bottle state reset %s` and set it again", ErrUnsafe, path, b.slug)
	}
	if err := checkSafeFile(path, fi); err != nil {
		return "", false, fmt.Errorf("bottle %q override: %w", b.slug, err)
	}
	return path, true, nil
}

// SetOverride writes data as the bottle's override, atomically: a reader
// sees the old override or the new one, whole. It does not look inside:
// bottle.SetOverride checks that data is a Dockerfile before it calls this.
func (b *Bottle) SetOverride(data []byte) error {
	if err := b.ensure(); err != nil {
		return fmt.Errorf("bottle %q: %w", b.slug, err)
	}
	if fi, err := os.Lstat(b.DockerfilePath()); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file (a symbolic link?); remove it first", ErrUnsafe, b.DockerfilePath())
	}
	return writeFileAtomic(b.DockerfilePath(), data, 0o644)
}

// ResetOverride removes the override, so the bottle goes back to the repo's
// Dockerfile. Resetting a bottle with no override is no error.
func (b *Bottle) ResetOverride() error {
	exists, err := b.Exists()
	if err != nil || !exists {
		return err
	}
	err = os.Remove(b.DockerfilePath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing bottle %q override: %w", b.slug, err)
	}
	return nil
}
