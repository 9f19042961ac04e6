//go:build linux

package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// TestStopCommand: `claude-bottle stop` (launch.Stop, as the dashboard's
// Stop) stops a bottle's running container within its grace, and leaves
// alone a container of the bottle's name that is not the bottle's, and
// one that does not run: both exit 2 and change nothing.
func TestStopCommand(t *testing.T) {
	testenv.RequireDocker(t)
	c := newCLI(t)
	image := requestsImage(t)
	run := func(slug string, labelled bool) string {
		name := bottle.ContainerName(slug)
		t.Cleanup(func() { testenv.DockerOut("rm", "-f", name) })
		args := []string{"run", "-d", "--name", name}
		if labelled {
			args = append(args, "--label", bottle.SlugLabel+"="+slug)
		}
		// The agent exits on SIGTERM, as a bottle's does.
		args = append(args, image, "sh", "-c", `trap "exit 0" TERM; while :; do sleep 1; done`)
		return testenv.Docker(t, args...)
	}
	mine, foreign := "stop-"+randHex(3), "stop-"+randHex(3)
	run(mine, true)
	run(foreign, false)

	start := time.Now()
	res := c.run(0, "stop", mine, "--grace", "20s")
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("stop took %v: the agent's SIGTERM trap should end it at once", took)
	}
	if state := testenv.Docker(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", bottle.ContainerName(mine)); state != "exited 0" {
		t.Errorf("after stop the container is %q, want exited 0 (SIGTERM, not a kill)", state)
	}
	if !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("stop said %q", res.Stderr)
	}
	for _, tc := range []struct{ slug, says string }{
		{foreign, "does not carry the label"},
		{mine, "is not running"},
		{"stop-" + randHex(3), "has no container"},
	} {
		res := c.run(2, "stop", tc.slug)
		if !strings.Contains(res.Stderr, tc.says) || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0 {
			t.Errorf("stop %s said %q, want one line with %q", tc.slug, res.Stderr, tc.says)
		}
	}
	if state := testenv.Docker(t, "inspect", "--format", "{{.State.Running}}", bottle.ContainerName(foreign)); state != "true" {
		t.Errorf("the container that is not the bottle's was stopped (running: %s)", state)
	}
	c.run(2, "stop", "../etc")
	c.run(2, "stop", mine, "--grace", "0s")
}
