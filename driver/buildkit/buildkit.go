// Package buildkit is claude-bottle's BuildKit build driver. It turns the
// Dockerfile into LLB on the client, with BuildKit's own Dockerfile builder
// run in-process, and solves it on a standalone buildkitd (unix://, tcp://,
// docker-container://) or on the Docker engine's embedded BuildKit; the
// image then lands in the Docker engine, with nothing sent when the engine
// already holds it.
package buildkit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
	dockerclient "github.com/moby/moby/client"
)

// Name is the driver's name (--driver=buildkit).
const Name = "buildkit"

// checkTimeout bounds Check, so that a daemon that accepts connections but
// never answers is reported instead of hanging the CLI.
const checkTimeout = 10 * time.Second

func init() {
	driver.Register(driver.Factory{
		Name:     Name,
		Priority: 20,
		Usage:    "BuildKit: a standalone buildkitd (--buildkit-addr) or the Docker engine's embedded BuildKit; loads the image into the engine",
		New:      New,
	})
}

// Builder is the BuildKit driver. It is safe for concurrent Build calls:
// each build has its own session on one shared client connection.
type Builder struct {
	cfg driver.Config
	ep  endpoint

	mu     sync.Mutex
	bk     *client.Client
	docker *dockerclient.Client
	closed bool
}

var (
	_ driver.Builder = (*Builder)(nil)
	_ driver.Closer  = (*Builder)(nil)
)

// New makes a BuildKit Builder for cfg. It checks the address but contacts
// no daemon: Check and Build do.
func New(_ context.Context, cfg driver.Config) (driver.Builder, error) {
	ep, err := parseEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	return &Builder{cfg: cfg, ep: ep}, nil
}

// clients returns the BuildKit and engine clients, making them on first use.
func (b *Builder) clients(ctx context.Context) (*client.Client, *dockerclient.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, fmt.Errorf("%w: the buildkit driver was closed", driver.ErrInvalidRequest)
	}
	if b.docker == nil {
		d, err := newDockerClient(b.cfg)
		if err != nil {
			return nil, nil, err
		}
		b.docker = d
	}
	if b.bk == nil {
		// The client must outlive ctx: it is shared by later builds.
		c, err := newBuildKitClient(context.WithoutCancel(ctx), b.ep, b.cfg, b.docker)
		if err != nil {
			return nil, nil, err
		}
		b.bk = c
	}
	return b.bk, b.docker, nil
}

// Close releases the client connections. Builds still running fail.
func (b *Builder) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	var errs []error
	if b.bk != nil {
		errs = append(errs, b.bk.Close())
		b.bk = nil
	}
	if b.docker != nil {
		errs = append(errs, b.docker.Close())
		b.docker = nil
	}
	return errors.Join(errs...)
}

// Info describes the driver and what its endpoint can do. It contacts
// nothing.
func (b *Builder) Info(context.Context) (driver.Info, error) {
	info := driver.Info{
		Name:     Name,
		Version:  Version(),
		Endpoint: b.ep.String(),
		Features: map[driver.Feature]bool{
			driver.FeatureSecrets:                   true,
			driver.FeatureSSH:                       true,
			driver.FeatureCacheImport:               true,
			driver.FeatureOutputs:                   true,
			driver.FeatureDockerLoad:                true,
			driver.FeatureNoCacheFilter:             true,
			driver.FeatureDockerignorePerDockerfile: true,
		},
	}
	if b.ep.standalone() {
		// The engine's BuildKit exports inline cache only, which needs
		// no feature.
		info.Features[driver.FeatureCacheExport] = true
		info.Features[driver.FeaturePush] = true
		info.Features[driver.FeatureMultiPlatform] = true
		info.Notes = []string{
			"images are loaded into the Docker engine through its image-load API; a rebuild the engine already holds is only tagged",
		}
		return info, nil
	}
	info.Notes = []string{
		"the engine's embedded BuildKit writes images straight into the engine's image store",
		"it cannot push (--push), export cache other than inline (--cache-to type=registry or local), export oci or docker archives, or build for several platforms at once: pass --buildkit-addr to use a standalone buildkitd for those",
	}
	return info, nil
}

// clientVersion is the BuildKit module version in go.mod, for binaries
// without module information (test binaries); a unit test keeps it in step.
const clientVersion = "v0.34.2"

// Version is the version of the BuildKit client the driver is built with.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/moby/buildkit" {
				if m.Replace != nil {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	return clientVersion
}

// Check connects to the endpoint and lists its workers (the engine's
// BuildKit has no Info call), within checkTimeout.
func (b *Builder) Check(ctx context.Context) error {
	bk, _, err := b.clients(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	ws, err := bk.ListWorkers(ctx)
	if err != nil {
		return b.unreachable(err)
	}
	if len(ws) == 0 {
		return fmt.Errorf("%w: BuildKit at %s has no workers: start buildkitd with a worker (--oci-worker=true)", driver.ErrUnsupported, b.ep)
	}
	return nil
}

// unreachable wraps err in ErrDaemonUnreachable with the address tried and
// how to start or name a daemon.
func (b *Builder) unreachable(err error) error {
	hint := "start buildkitd or pass --buildkit-addr / set BUILDKIT_HOST"
	if !b.ep.standalone() {
		hint = "start the Docker engine or set DOCKER_HOST, or pass --buildkit-addr / set BUILDKIT_HOST to use a standalone buildkitd"
		if h := b.cfg.DockerHost; h != "" {
			return fmt.Errorf("%w: %s at %q: %w (%s)", driver.ErrDaemonUnreachable, b.ep, h, err, hint)
		}
	}
	return fmt.Errorf("%w: BuildKit at %q: %w (%s)", driver.ErrDaemonUnreachable, b.ep.String(), err, hint)
}
