package bottle

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/state"
)

// defaultRepo is the default bottle context carried by the binary: a
// Dockerfile that installs Claude Code.
//
//go:embed defaultrepo/Dockerfile defaultrepo/.dockerignore
var defaultRepo embed.FS

// UnpackDefault writes the default bottle context under <root>/repo/ when it
// is absent or differs from the one this binary carries, and returns the
// folder. It writes into a new folder and renames it into place, so a
// reader never sees half of it. A root or a repo/ that another user could
// change (see state.CheckOwned) is refused with state.ErrUnsafe: its
// Dockerfile chooses what every bottle without a repo builds.
func UnpackDefault(root string) (string, error) {
	dir := filepath.Join(root, "repo")
	if err := checkDefault(root, dir); err != nil {
		return "", err
	}
	if same, err := sameAsEmbedded(dir); err != nil || same {
		return dir, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("unpacking the default bottle: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".repo-new-*")
	if err != nil {
		return "", fmt.Errorf("unpacking the default bottle: %w", err)
	}
	defer os.RemoveAll(tmp)
	err = fs.WalkDir(defaultRepo, "defaultrepo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := defaultRepo.ReadFile(p)
		return os.WriteFile(filepath.Join(tmp, filepath.Base(p)), data, 0o644)
	})
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = install(tmp, dir)
	}
	if err != nil {
		return "", fmt.Errorf("unpacking the default bottle into %s: %w", dir, err)
	}
	return dir, nil
}

// checkDefault refuses the default repo's folders and files when another
// user could change them.
func checkDefault(root, dir string) error {
	paths := []string{root, dir}
	entries, _ := fs.ReadDir(defaultRepo, "defaultrepo")
	for _, e := range entries {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	if err := state.CheckOwned(paths...); err != nil {
		return fmt.Errorf("the default bottle in %s: %w; fix it or remove %s, and claude-bottle unpacks it again", dir, err, dir)
	}
	return nil
}

func sameAsEmbedded(dir string) (bool, error) {
	entries, _ := fs.ReadDir(defaultRepo, "defaultrepo")
	for _, e := range entries {
		want, _ := defaultRepo.ReadFile("defaultrepo/" + e.Name())
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading the default bottle in %s: %w", dir, err)
		}
		if !bytes.Equal(got, want) {
			return false, nil
		}
	}
	return true, nil
}

// install renames the unpacked folder tmp to dir. Another command may be
// unpacking at the same time, so dir is never removed first (a reader
// would find it missing): a folder already there that holds this binary's
// context is kept, and an older one is moved aside before trying again.
func install(tmp, dir string) error {
	var err error
	for range 3 {
		if err = os.Rename(tmp, dir); err == nil {
			return nil
		}
		if same, serr := sameAsEmbedded(dir); serr == nil && same {
			return nil
		}
		aside, aerr := os.MkdirTemp(filepath.Dir(dir), ".repo-old-*")
		if aerr != nil {
			return aerr
		}
		defer os.RemoveAll(aside)
		if rerr := os.Rename(dir, filepath.Join(aside, "repo")); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return rerr
		}
	}
	return err
}
