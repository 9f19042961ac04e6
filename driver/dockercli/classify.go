package dockercli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// probeTimeout bounds the daemon probe run after a failed build.
const probeTimeout = 10 * time.Second

// classify turns a failed docker run into a classed error that carries the
// last lines of docker's output. It decides from structure, not from
// docker's wording: the context's state, the step the progress showed
// failing, and, when no step failed, whether the daemon still answers.
func (b *Builder) classify(ctx context.Context, d *detection, req driver.Request, pr *progress, runErr error) error {
	out := pr.tail.String()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w: docker build of %q stopped (%w)", driver.ErrCanceled, req.Dockerfile, context.Cause(ctx))
	case !errors.As(runErr, &exitErr):
		if errors.Is(runErr, exec.ErrNotFound) || errors.Is(runErr, fs.ErrNotExist) || errors.Is(runErr, fs.ErrPermission) {
			return b.notFound(runErr)
		}
		return fmt.Errorf("%w: running %q: %w", driver.ErrBuildFailed, d.path, runErr)
	case pr.parser.failedStep() != "":
		return fmt.Errorf("%w: step %q of %q failed: %s", driver.ErrBuildFailed, pr.parser.failedStep(), req.Dockerfile, out)
	}
	if err := b.probe(ctx, d.path); err != nil {
		return fmt.Errorf("%w: docker cannot reach the engine at %s (%v): start the Docker daemon or point DOCKER_HOST at it; docker said: %s",
			driver.ErrDaemonUnreachable, b.hostDesc(), err, out)
	}
	if !pr.parser.stepStarted() {
		return fmt.Errorf("%w: docker (%s) rejected %q before any step ran: fix the Dockerfile or the build context; docker said: %s",
			driver.ErrInvalidDockerfile, describeMode(d.mode), req.Dockerfile, out)
	}
	return fmt.Errorf("%w: docker build of %q (%s) exited with code %d: %s", driver.ErrBuildFailed, req.Dockerfile, describeMode(d.mode), exitErr.ExitCode(), out)
}

// probe asks the engine for its API version, to tell a daemon that is down
// from a build that failed.
func (b *Builder) probe(ctx context.Context, path string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := b.quick(ctx, path, "version", "--format", "{{.Server.APIVersion}}")
	return err
}

// hostDesc names the engine docker talks to, as the user set it.
func (b *Builder) hostDesc() string {
	switch {
	case b.cfg.DockerHost != "":
		return fmt.Sprintf("DOCKER_HOST=%q (from claude-bottle's configuration)", b.cfg.DockerHost)
	case os.Getenv("DOCKER_HOST") != "":
		return fmt.Sprintf("DOCKER_HOST=%q", os.Getenv("DOCKER_HOST"))
	case os.Getenv("DOCKER_CONTEXT") != "":
		return fmt.Sprintf("DOCKER_CONTEXT=%q (DOCKER_HOST is unset)", os.Getenv("DOCKER_CONTEXT"))
	}
	return "the CLI's current context (DOCKER_HOST is unset; see docker context ls)"
}
