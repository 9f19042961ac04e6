// Package dockercli is the fallback build driver: it runs the user's own
// docker CLI (cfg.DockerBin, default "docker" on PATH) as a subprocess, for
// machines where BuildKit cannot be reached directly and for users who want
// exactly what their `docker build` does.
//
// The driver detects once per Builder which builder the CLI will use (see
// Mode): buildx (`docker buildx build --load`), the engine's BuildKit through
// the classic `docker build` of a pre-23 client (DOCKER_BUILDKIT=1), or the
// legacy builder (DOCKER_BUILDKIT=0). It always sets DOCKER_BUILDKIT itself,
// since a newer client silently picks the legacy builder when it is unset.
package dockercli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Name is the name users pick this driver by (--driver=docker).
const Name = "docker"

// OptMode is the driver option (--driver-opt mode=...) that forces a Mode
// instead of detecting one; Build fails when the CLI cannot use it.
const OptMode = "mode"

func init() {
	driver.Register(driver.Factory{
		Name:     Name,
		Priority: 10,
		Usage:    "build with your own docker CLI (docker buildx build, or docker build); the fallback when BuildKit is not reachable directly",
		New:      New,
	})
}

// Builder runs builds through the docker CLI. It is safe for concurrent use;
// the builder detection it runs before the first build is shared by all.
type Builder struct {
	bin    string
	cfg    driver.Config
	forced Mode
	// grace is how long a canceled docker process gets between SIGINT and
	// SIGKILL.
	grace time.Duration

	mu  sync.Mutex
	det *detection
}

var _ driver.Builder = (*Builder)(nil)

// New makes a Builder for cfg. It runs nothing: detection waits for the
// first Info, Check or Build.
func New(_ context.Context, cfg driver.Config) (driver.Builder, error) {
	bin := cfg.DockerBin
	if bin == "" {
		bin = "docker"
	}
	b := &Builder{bin: bin, cfg: cfg, grace: 5 * time.Second}
	if m, ok := cfg.Opts[OptMode]; ok {
		mode, err := ParseMode(m)
		if err != nil {
			return nil, err
		}
		b.forced = mode
	}
	for k := range cfg.Opts {
		if k != OptMode {
			return nil, fmt.Errorf("%w: the docker driver has no option %q (it knows %q)", driver.ErrInvalidRequest, k, OptMode)
		}
	}
	return b, nil
}

// Mode returns the builder mode the CLI will be used in, detecting it on the
// first call.
func (b *Builder) Mode(ctx context.Context) (Mode, error) {
	d, err := b.detect(ctx)
	if err != nil {
		return "", err
	}
	return d.mode, nil
}
