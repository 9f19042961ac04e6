// Package bottle resolves a bottle's plan: for a slug, which repo, which
// Dockerfile (the bottle's override or the repo's), which build context,
// which image tag, and, with a working directory, the derived image layered
// on top. The plan is what `claude-bottle plan` shows and what `build` and
// `launch` act on.
//
// Every name a bottle has in the Docker engine (image tags, the container
// name, labels) is decided in names.go, and nowhere else.
package bottle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// ErrNoDockerfile classes a repo without the Dockerfile a plan needs.
var ErrNoDockerfile = errors.New("no Dockerfile")

// ErrNoRepo classes a repo folder that does not exist.
var ErrNoRepo = errors.New("no repo")

// Plan is everything decided about a bottle before anything is built.
type Plan struct {
	Slug string `json:"slug"`
	// Repo is the repo root; RepoFrom says where it was named.
	Repo     string `json:"repo"`
	RepoFrom string `json:"repo_from"`
	// Dockerfile is the Dockerfile to build: the override or the repo's.
	Dockerfile string `json:"dockerfile"`
	// Context is the build context: always the repo root, so an override
	// can still COPY repo files.
	Context string `json:"context"`
	// Image is the tag the bottle's image is built as.
	Image string `json:"image"`
	// Rebuilt is true when the bottle has its own override.
	Rebuilt bool `json:"rebuilt"`
	// Driver is the build driver; DriverReason says why it was chosen.
	Driver       string `json:"driver"`
	DriverReason string `json:"driver_reason,omitempty"`
	// Network is the bottle's network, "none" or "open" (launch decides
	// it from --network and config.toml; Resolve leaves it empty).
	Network string `json:"network,omitempty"`
	// Cwd is the host folder the agent works in, and DerivedImage the image
	// layered on Image for it; both empty without --cwd.
	Cwd          string `json:"cwd"`
	DerivedImage string `json:"derived_image"`
	// Transcript describes the last transcript snapshot, if any.
	Transcript *state.SnapshotInfo `json:"transcript,omitempty"`
	// State is the bottle's state folder, opened by Resolve: a launch
	// restores and snapshots the transcript there.
	State *state.Bottle `json:"-"`
}

// Options are the inputs of Resolve.
type Options struct {
	Slug string
	// Repo is the repo root, already merged from flag, env and config;
	// empty means the default bottle context.
	Repo     string
	RepoFrom string
	// Cwd is the agent's working folder on the host, or "".
	Cwd string
	// Driver and DriverReason are recorded as given.
	Driver       string
	DriverReason string
}

// Resolve makes the plan for one bottle. It reads state but writes nothing,
// except unpacking the default bottle context on first use.
func Resolve(store *state.Store, opts Options) (*Plan, error) {
	b, err := store.Bottle(opts.Slug)
	if err != nil {
		return nil, err
	}
	p := &Plan{Slug: opts.Slug, Driver: opts.Driver, DriverReason: opts.DriverReason, State: b}
	if p.Repo, p.RepoFrom, err = repoRoot(store, opts); err != nil {
		return nil, err
	}
	p.Context = p.Repo
	override, rebuilt, err := b.OverridePath()
	if err != nil {
		return nil, err
	}
	p.Image, p.Rebuilt = Tag(opts.Slug, rebuilt), rebuilt
	if rebuilt {
		p.Dockerfile = override
	} else {
		p.Dockerfile = filepath.Join(p.Repo, "Dockerfile")
		if err := needFile(p.Dockerfile, p.RepoFrom); err != nil {
			return nil, err
		}
	}
	if opts.Cwd != "" {
		if p.Cwd, p.DerivedImage, err = derived(opts.Slug, opts.Cwd); err != nil {
			return nil, err
		}
	}
	if info, ok, err := b.Snapshot(); err == nil && ok {
		p.Transcript = &info
	}
	return p, nil
}

// repoRoot returns the named repo, checked, or the default context.
func repoRoot(store *state.Store, opts Options) (string, string, error) {
	if opts.Repo == "" {
		dir, err := UnpackDefault(store.Root())
		return dir, "built-in default bottle", err
	}
	abs, err := filepath.Abs(opts.Repo)
	if err != nil {
		return "", "", err
	}
	st, err := os.Stat(abs)
	if err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("%w: repo %q (from %s) is not a folder; pass --repo DIR with the bottle Dockerfile", ErrNoRepo, abs, opts.RepoFrom)
	}
	return abs, opts.RepoFrom, nil
}

func needFile(path, from string) error {
	st, err := os.Stat(path)
	if err == nil && st.Mode().IsRegular() {
		return nil
	}
	if err == nil {
		err = errors.New("not a regular file")
	}
	return fmt.Errorf("%w: the repo's Dockerfile %s (repo from %s): %v; pass --repo DIR of a repo with a Dockerfile, or set an override with `claude-bottle state set-dockerfile`", ErrNoDockerfile, path, from, err)
}

// derived returns the absolute cwd, checked, and its DerivedImage tag.
func derived(slug, cwd string) (string, string, error) {
	abs, err := filepath.Abs(cwd)
	if err != nil {
		return "", "", err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("%w: --cwd %q is not a folder", driver.ErrInvalidRequest, cwd)
	}
	return abs, DerivedImage(slug, abs), nil
}

// Request returns the build request for the bottle's image.
func (p *Plan) Request() driver.Request {
	return driver.Request{Dockerfile: p.Dockerfile, ContextDir: p.Context, Tags: []string{p.Image}}
}

// RequestWith returns the build request for the plan's image carrying the
// build options of opts (build arguments, secrets, cache, push, ...): what
// is built, and as which tag, is the plan's, whatever opts says.
func (p *Plan) RequestWith(opts driver.Request) driver.Request {
	req := p.Request()
	opts.Dockerfile, opts.ContextDir, opts.Tags = req.Dockerfile, req.ContextDir, req.Tags
	return opts
}

// CheckDockerfile reads and parses the plan's Dockerfile, so that a bad one
// is refused with its file and line (dockerfile.ErrInvalid) before any
// driver is asked to build it.
func (p *Plan) CheckDockerfile() error {
	_, err := dockerfile.ReadFile(p.Dockerfile)
	return err
}
