package dockercli

import (
	"context"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// checkTimeout bounds Check's `docker version`.
const checkTimeout = 15 * time.Second

// Info describes the driver: the client's version, the binary and builder
// it uses, and what that builder can do. It runs docker once per Builder.
func (b *Builder) Info(ctx context.Context) (driver.Info, error) {
	d, err := b.detect(ctx)
	if err != nil {
		return driver.Info{}, err
	}
	return driver.Info{
		Name:     Name,
		Version:  d.client.Version,
		Endpoint: endpoint(d),
		Features: features(d),
		Notes:    notes(d),
	}, nil
}

// Check reports whether docker runs and reaches its engine now.
func (b *Builder) Check(ctx context.Context) error {
	d, err := b.detect(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if _, err := b.quick(ctx, d.path, "version", "--format", "{{.Server.APIVersion}}"); err != nil {
		if ctx.Err() != nil && ctx.Err() != context.DeadlineExceeded {
			return driver.Canceled(ctx, err)
		}
		return fmt.Errorf("%w: `%s version` cannot reach the engine at %s (%v): start the Docker daemon or point DOCKER_HOST at it",
			driver.ErrDaemonUnreachable, d.path, b.hostDesc(), err)
	}
	return nil
}

func endpoint(d *detection) string {
	switch d.mode {
	case ModeBuildx:
		return fmt.Sprintf("%s buildx build (buildx %s, builder %q, driver %q)", d.path, d.buildx, d.bxBuilder, d.bxDriver)
	case ModeBuildKit:
		return fmt.Sprintf("%s build (DOCKER_BUILDKIT=1, the engine's BuildKit)", d.path)
	}
	return fmt.Sprintf("%s build (DOCKER_BUILDKIT=0, the legacy builder)", d.path)
}

// features lists what the detected builder can do; a request for anything
// else is refused with driver.ErrUnsupported.
func features(d *detection) map[driver.Feature]bool {
	f := map[driver.Feature]bool{driver.FeatureDockerLoad: true, driver.FeatureCacheImport: true}
	if d.mode == ModeLegacy {
		return f
	}
	f[driver.FeatureSecrets] = true
	f[driver.FeatureSSH] = true
	// The classic build and buildx's docker driver export inline cache
	// only, which needs no feature.
	f[driver.FeatureCacheExport] = d.mode == ModeBuildx && d.bxDriver != "docker"
	f[driver.FeatureDockerignorePerDockerfile] = true
	if d.mode == ModeBuildx {
		f[driver.FeatureNoCacheFilter] = true
		f[driver.FeaturePush] = true
		f[driver.FeatureOutputs] = true
		f[driver.FeatureMultiPlatform] = d.bxDriver != "docker"
	}
	return f
}

// notes are the limits of the detected builder worth telling the user.
func notes(d *detection) []string {
	switch d.mode {
	case ModeLegacy:
		return []string{
			"legacy builder (DOCKER_BUILDKIT=0): no secrets, no SSH forwarding, no cache export, no per-Dockerfile ignore file, no heredocs or RUN --mount, one platform",
			"cache-from takes only images already in the engine; the whole context is sent on every build",
			"with the Dockerfile outside the context, the driver sends the context on stdin with the Dockerfile as " + contextDockerfile + ", listed in the sent .dockerignore so the daemon drops it; a .dockerignore the context keeps (one that does not exclude itself) reaches COPY with that one extra line",
			"install the buildx plugin for BuildKit builds through this CLI",
		}
	case ModeBuildKit:
		return []string{
			"the engine's BuildKit through the classic docker build (DOCKER_BUILDKIT=1): no --no-cache-filter, no push, no other outputs, one platform",
			"cache export is inline only (type=inline); cache-from takes image references",
		}
	}
	if d.bxDriver == "docker" {
		return []string{"buildx's docker driver: one platform, inline cache export only; a docker-container builder lifts both"}
	}
	return nil
}
