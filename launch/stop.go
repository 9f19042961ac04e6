package launch

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
)

// ErrNotRunning classes a stop of a bottle whose container does not run.
var ErrNotRunning = errors.New("bottle not running")

// DefaultStopGrace is how long Stop gives a bottle to exit after SIGTERM
// before it is killed: as long as a launch gives it after a Ctrl-C.
const DefaultStopGrace = stopGrace

// Stop stops a running bottle: SIGTERM to its container
// (bottle.ContainerName), then SIGKILL after grace (DefaultStopGrace when
// 0). The launch that runs the bottle sees it exit and snapshots its
// transcript, as after any exit. A container of that name that is not the
// bottle's (no bottle.SlugLabel naming slug) is left alone. The CLI and
// the dashboard stop bottles through it; the supervisor's swap (issue 14)
// stops the old container its own way.
func Stop(ctx context.Context, cli *client.Client, slug string, grace time.Duration) error {
	if grace <= 0 {
		grace = DefaultStopGrace
	}
	name := bottle.ContainerName(slug)
	res, err := cli.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%w: bottle %s has no container (%s); nothing to stop", ErrNotRunning, slug, name)
	}
	if err != nil {
		return engineError("looking for container "+name, err)
	}
	c := res.Container
	if c.Config == nil || c.Config.Labels[bottle.SlugLabel] != slug {
		return fmt.Errorf("%w: container %s does not carry the label %s=%s, so it is not bottle %s's; it was left alone", ErrNotRunning, name, bottle.SlugLabel, slug, slug)
	}
	if c.State == nil || !c.State.Running {
		status := "stopped"
		if c.State != nil && c.State.Status != "" {
			status = string(c.State.Status)
		}
		return fmt.Errorf("%w: bottle %s is not running (container %s is %s)", ErrNotRunning, slug, name, status)
	}
	secs := int(grace.Round(time.Second) / time.Second)
	if _, err := cli.ContainerStop(ctx, c.ID, client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return engineError("stopping container "+name, err)
	}
	return nil
}
