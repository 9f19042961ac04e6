package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FormatVersion is the layout version this build of claude-bottle writes.
// A store written by an older version is migrated forward on first write; a
// newer one is refused rather than damaged.
const FormatVersion = 1

// versionFile lives inside <root>/state; its leading dot keeps it from ever
// being taken for a slug.
const versionFile = ".format-version"

// migrations[i] upgrades a store from version i+1 to i+2. Append only.
var migrations = []func(s *Store) error{}

func (s *Store) versionPath() string { return filepath.Join(s.StateDir(), versionFile) }

// Version returns the store's format version; 0 means no store yet.
func (s *Store) Version() (int, error) {
	b, err := os.ReadFile(s.versionPath())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading state format version: %w", err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || v < 1 {
		return 0, fmt.Errorf("state format file %s holds %q, not a version number; restore it or remove it to start over", s.versionPath(), strings.TrimSpace(string(b)))
	}
	return v, nil
}

// migrate brings the store to FormatVersion.
func (s *Store) migrate() error {
	v, err := s.Version()
	if err != nil {
		return err
	}
	if v > FormatVersion {
		return fmt.Errorf("state in %s has format %d, newer than this claude-bottle understands (%d): upgrade claude-bottle", s.root, v, FormatVersion)
	}
	if v == FormatVersion {
		return nil
	}
	if v == 0 {
		v = 1 // a fresh store starts at the first format: nothing to migrate
	}
	for ; v < FormatVersion; v++ {
		if err := migrations[v-1](s); err != nil {
			return fmt.Errorf("migrating state from format %d to %d: %w", v, v+1, err)
		}
	}
	return writeFileAtomic(s.versionPath(), []byte(strconv.Itoa(FormatVersion)+"\n"), 0o644)
}
