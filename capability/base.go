package capability

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// Base is the Dockerfile a bottle's capabilities are layered on.
type Base struct {
	// Source is SourceRepo (the repo's Dockerfile) or SourceBottle (the
	// bottle's own).
	Source string
	// Path is the file it was read from.
	Path string
	// Data and Digest are its content and content digest.
	Data   []byte
	Digest string
	// ModTime is the file's modification time: when a changed base
	// changed.
	ModTime time.Time
	// migrate is true for a phase-1 bottle whose hand-written override is
	// its base: the first change moves it to base.Dockerfile.
	migrate bool
}

// loadBase finds a bottle's base: its base.Dockerfile; else, for a bottle
// with no capabilities.json, a hand-written override (phase 1); else the
// repo's Dockerfile (repo "" means the one the list was rendered from).
func loadBase(b *state.Bottle, repo string, l *List) (*Base, error) {
	if data, ok, err := b.ReadFileAt(BaseFile); err != nil {
		return nil, err
	} else if ok {
		return newBase(SourceBottle, b.FilePath(BaseFile), data, false), nil
	}
	if l != nil && l.Base.Source == SourceBottle {
		return nil, fmt.Errorf("bottle %q records a base of its own but %s is missing; set one with `claude-bottle state set-dockerfile %s FILE` or run `claude-bottle capability rollback %s`", b.Slug(), b.FilePath(BaseFile), b.Slug(), b.Slug())
	}
	if l == nil {
		if data, ok, err := b.ReadFileAt(OverrideFile); err != nil {
			return nil, err
		} else if ok {
			return newBase(SourceBottle, b.FilePath(OverrideFile), data, true), nil
		}
	}
	path := filepath.Join(repo, "Dockerfile")
	if repo == "" {
		if l == nil || l.Base.Path == "" {
			return nil, fmt.Errorf("%w: bottle %q builds on a repo's Dockerfile and no repo was named; pass --repo DIR", bottle.ErrNoRepo, b.Slug())
		}
		path = l.Base.Path // no repo named: the one the override was rendered from
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: bottle %q builds on the repo's Dockerfile, and %s does not exist; pass --repo DIR of the bottle's repo", bottle.ErrNoDockerfile, b.Slug(), path)
		}
		return nil, fmt.Errorf("%w: reading the repo's Dockerfile %s: %v", bottle.ErrNoDockerfile, path, err)
	}
	return newBase(SourceRepo, path, data, false), nil
}

func newBase(source, path string, data []byte, migrate bool) *Base {
	base := &Base{Source: source, Path: path, Data: data, Digest: contentDigest(data), migrate: migrate}
	if fi, err := os.Stat(path); err == nil {
		base.ModTime = fi.ModTime()
	}
	return base
}
