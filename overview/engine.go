package overview

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// Engine is what the overview reads of the Docker engine. NewEngine makes
// one over the engine API; a unit test may use a fake.
type Engine interface {
	// Containers returns every container that carries bottle.SlugLabel,
	// running or not.
	Containers(ctx context.Context) ([]ContainerInfo, error)
	// Image returns the image ref names; ok is false when the engine has
	// no such image.
	Image(ctx context.Context, ref string) (info ImageInfo, ok bool, err error)
	// Images returns the images of the repository repo, every tag.
	Images(ctx context.Context, repo string) ([]ImageInfo, error)
}

// ContainerInfo is a container as the engine describes it.
type ContainerInfo struct {
	ID    string
	Name  string
	State string
	Image string
	// Labels are the container's labels, those of its image included.
	Labels     map[string]string
	WorkingDir string
	// StartedAt is when it last started; zero if it never did.
	StartedAt time.Time
}

// ImageInfo is an image as the engine describes it.
type ImageInfo struct {
	ID      string
	Tags    []string
	Created time.Time
	Labels  map[string]string
}

// NewEngine returns an Engine over an engine API client (launch.Connect
// makes one).
func NewEngine(cli *client.Client) Engine { return mobyEngine{cli} }

type mobyEngine struct{ cli *client.Client }

// Containers lists the labelled containers and inspects each for its
// start time and working folder.
func (e mobyEngine) Containers(ctx context.Context) ([]ContainerInfo, error) {
	res, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", bottle.SlugLabel)})
	if err != nil {
		return nil, engineError("listing the bottles' containers", err)
	}
	out := make([]ContainerInfo, 0, len(res.Items))
	for _, s := range res.Items {
		c := ContainerInfo{ID: s.ID, State: string(s.State), Image: s.Image, Labels: s.Labels}
		if len(s.Names) > 0 {
			c.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		in, err := e.cli.ContainerInspect(ctx, s.ID, client.ContainerInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, engineError("inspecting container "+c.Name, err)
		}
		if st := in.Container.State; st != nil {
			c.State = string(st.Status)
			c.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		}
		if cfg := in.Container.Config; cfg != nil {
			c.WorkingDir = cfg.WorkingDir
		}
		out = append(out, c)
	}
	return out, nil
}

// Image inspects ref; a missing image is not an error.
func (e mobyEngine) Image(ctx context.Context, ref string) (ImageInfo, bool, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return ImageInfo{}, false, nil
	}
	if err != nil {
		return ImageInfo{}, false, engineError("inspecting image "+ref, err)
	}
	info := ImageInfo{ID: img.ID, Tags: img.RepoTags}
	info.Created, _ = time.Parse(time.RFC3339Nano, img.Created)
	if img.Config != nil {
		info.Labels = img.Config.Labels
	}
	return info, true, nil
}

// Images lists the images whose reference matches repo.
func (e mobyEngine) Images(ctx context.Context, repo string) ([]ImageInfo, error) {
	res, err := e.cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repo)})
	if err != nil {
		return nil, engineError("listing the images of "+repo, err)
	}
	out := make([]ImageInfo, 0, len(res.Items))
	for _, s := range res.Items {
		out = append(out, ImageInfo{ID: s.ID, Tags: s.RepoTags, Created: time.Unix(s.Created, 0).UTC(), Labels: s.Labels})
	}
	return out, nil
}

// engineError words an engine API error, naming an unreachable engine.
func engineError(what string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%w: %s: %v; is dockerd running? (check DOCKER_HOST or --docker-host)", driver.ErrDaemonUnreachable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
