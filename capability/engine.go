package capability

import (
	"context"
	"fmt"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Engine moves image tags in the Docker engine: the swap after a build
// and a rollback. NewEngine makes one over the engine API; a unit test
// may use a fake.
type Engine interface {
	// ImageID returns the ID of the image ref names, or "" when the
	// engine has no such image.
	ImageID(ctx context.Context, ref string) (string, error)
	// Tag gives the image source (an ID or a name) the name target,
	// moving target from any image that had it.
	Tag(ctx context.Context, source, target string) error
	// Untag removes the name ref. The engine deletes an image only when
	// ref was its last name; callers give an image another name first
	// when it must stay.
	Untag(ctx context.Context, ref string) error
}

// NewEngine returns an Engine over an engine API client (as launch.Connect
// makes it).
func NewEngine(cli *client.Client) Engine { return &mobyEngine{cli: cli} }

type mobyEngine struct{ cli *client.Client }

// ImageID inspects ref; a missing image is "", not an error.
func (e *mobyEngine) ImageID(ctx context.Context, ref string) (string, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", engineError("inspecting image "+ref, err)
	}
	return img.ID, nil
}

// Tag tags source as target through the engine API.
func (e *mobyEngine) Tag(ctx context.Context, source, target string) error {
	if _, err := e.cli.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		return engineError(fmt.Sprintf("tagging %s as %s", source, target), err)
	}
	return nil
}

// Untag removes the name ref (an image remove without pruning).
func (e *mobyEngine) Untag(ctx context.Context, ref string) error {
	_, err := e.cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return engineError("removing the tag "+ref, err)
	}
	return nil
}

// engineError words an engine API error, naming an unreachable engine.
func engineError(what string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%w: %s: %v; is dockerd running? (check DOCKER_HOST or --docker-host)", driver.ErrDaemonUnreachable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
