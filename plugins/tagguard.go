package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/driver"
)

// A failed build must leave the bottle's tags where they were. The
// built-in drivers tag only once the image is whole, but a driver may tag
// by itself (`docker build -t`) and then crash or fail: the tagGuard notes
// where each tag of a build that loads into the Docker engine points before
// the build, and puts back what moved if the build fails.
type tagGuard struct {
	engine tagEngine
	log    *slog.Logger
	before map[string]string // tag -> image ID ("" : no such tag)
}

// tagEngine is what the guard asks of the Docker engine.
type tagEngine interface {
	// imageID returns the image the tag ref names, or "" if none.
	imageID(ctx context.Context, ref string) (string, error)
	// tag points ref at image id.
	tag(ctx context.Context, id, ref string) error
	// untag removes the tag ref (and the image, if that was its last name).
	untag(ctx context.Context, ref string) error
}

// guardTimeout bounds each look at the engine: the guard must not hold a
// build up when the engine is slow or away.
const guardTimeout = 5 * time.Second

// loadsIntoEngine reports whether req's image is loaded into the Docker
// engine under its tags, where a driver could move them.
func loadsIntoEngine(req driver.Request) bool {
	return len(req.Tags) > 0 && req.Loads()
}

// newTagGuard notes where req's tags point now. It returns nil when the
// build does not load into the engine, or when the engine cannot say (the
// build will then fail to load anyway, or nothing can be restored).
func newTagGuard(ctx context.Context, e tagEngine, log *slog.Logger, req driver.Request) *tagGuard {
	if e == nil || !loadsIntoEngine(req) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, guardTimeout)
	defer cancel()
	g := &tagGuard{engine: e, log: log, before: map[string]string{}}
	for _, t := range req.Tags {
		if strings.Contains(t, "@") {
			continue // a digest reference is not a tag that can move
		}
		id, err := e.imageID(ctx, t)
		if err != nil {
			log.Debug("cannot see the build's tags in the Docker engine; a failed build cannot put them back", "tag", t, "error", err)
			return nil
		}
		g.before[t] = id
	}
	return g
}

// restore puts back every tag the failed build moved, and returns buildErr
// with a note of any it could not.
func (g *tagGuard) restore(buildErr error) error {
	if g == nil {
		return buildErr
	}
	// The build's context may be what ended it (Ctrl-C): restoring must
	// not depend on it.
	ctx, cancel := context.WithTimeout(context.Background(), guardTimeout)
	defer cancel()
	var failed []error
	for _, t := range sortedKeys(g.before) {
		was := g.before[t]
		now, err := g.engine.imageID(ctx, t)
		if err == nil && now == was {
			continue
		}
		if err == nil {
			if was == "" {
				err = g.engine.untag(ctx, t)
			} else {
				err = g.engine.tag(ctx, was, t)
			}
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("tag %q: %w", t, err))
			continue
		}
		g.log.Warn("the failed build had moved a tag; it is back where it was", "tag", t, "was", dashIfEmpty(was), "moved_to", now)
	}
	if len(failed) == 0 {
		return buildErr
	}
	return fmt.Errorf("%w; the failed build moved tags that could not be put back (%v): check them with docker image ls", buildErr, errors.Join(failed...))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "(no such tag)"
	}
	return s
}

// engineTags is the tagEngine of a Docker engine.
type engineTags struct{ cli *client.Client }

// newEngineTags connects (lazily: nothing is dialled here) to host, or to
// $DOCKER_HOST when host is empty.
func newEngineTags(host string) (*engineTags, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, err
	}
	return &engineTags{cli: cli}, nil
}

func (e *engineTags) imageID(ctx context.Context, ref string) (string, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", err
	}
	want := reference.FamiliarString(reference.TagNameOnly(named))
	img, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// The engine also finds an image by a prefix of its ID: only a real tag
	// counts.
	if !slices.Contains(img.RepoTags, want) {
		return "", nil
	}
	return img.ID, nil
}

func (e *engineTags) tag(ctx context.Context, id, ref string) error {
	_, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: ref})
	return err
}

func (e *engineTags) untag(ctx context.Context, ref string) error {
	_, err := e.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

func (e *engineTags) close() error { return e.cli.Close() }
