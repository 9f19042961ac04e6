package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/clirun"
)

// run runs buildah with args, turning its output into progress. A
// canceled ctx stops buildah (SIGTERM, then SIGKILL) and gives a
// driver.ErrCanceled; a failure is a driver.ErrBuildFailed naming the
// failed step and buildah's last line (its other output is in the
// progress already).
func (b *builder) run(ctx context.Context, args []string, out *output) error {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env()
	err := clirun.Run(ctx, cmd, clirun.Options{Line: out.line})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, driver.ErrCanceled):
		out.steps.Fail("canceled")
		return err
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("%w: %v; install buildah or point the driver at it with --driver-opt buildah=PATH", driver.ErrUnsupported, err)
	}
	where := "buildah " + args[len(b.globalArgs())]
	if failed := out.steps.Fail(err.Error()); failed != "" {
		where = fmt.Sprintf("step %q", failed)
	}
	return fmt.Errorf("%w: %s failed (%v): %s", driver.ErrBuildFailed, where, err, out.lastLine())
}

// env is buildah's environment: the plugin's, with the Docker engine the
// host chose for the docker-daemon transport.
func (b *builder) env() []string {
	env := os.Environ()
	if b.dockerHost != "" {
		env = append(env, "DOCKER_HOST="+b.dockerHost)
	}
	return env
}
