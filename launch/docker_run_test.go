package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// hardened is what every bottle's docker run equivalent holds before its
// mounts: PID 1 as root with only its capabilities, no new privileges,
// the default limits and no network.
const hardened = "--user 0:0 --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETUID --cap-add SETGID --cap-add SETPCAP " +
	"--security-opt no-new-privileges --pids-limit 1024 --memory 4g --memory-swap 4g"

// own are claude-bottle's own read-only mounts for the paths in paths().
const own = "--mount type=bind,src=/usr/local/bin/claude-bottle,dst=/opt/claude-bottle/bin/claude-bottle,readonly " +
	"--mount type=bind,src=/run/cb/x,dst=/run/claude-bottle,readonly " +
	"--mount type=bind,src=/run/cb/x/claude-code,dst=/etc/claude-code,readonly"

func paths(c Containment) Containment {
	c.Binary, c.RunDir, c.ManagedDir = "/usr/local/bin/claude-bottle", "/run/cb/x", "/run/cb/x/claude-code"
	c.UID, c.GID, c.UserName = 1000, 1000, "me"
	return c
}

func TestDockerRunEquivalent(t *testing.T) {
	stdin := strings.NewReader("")
	initArgs := "--entrypoint /opt/claude-bottle/bin/claude-bottle IMG init --uid=1000 --gid=1000 --user-name=me --image-user={USER of the image} --image-home={HOME of the image}"
	image := func(s string) string { return strings.Replace(initArgs, "IMG", s, 1) }
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"minimal", Spec{Slug: "a", Image: "claude-bottle:latest", Containment: paths(Containment{})},
			"docker run --name claude-bottle-a --rm " + hardened + " --network none " + own + " -e CLAUDE_BOTTLE_SOCKET " +
				image("claude-bottle:latest") + " --proxy -- {ENTRYPOINT of the image} {CMD of the image}"},
		{"keep", Spec{Slug: "a", Image: "img", Keep: true, Containment: paths(Containment{})},
			"docker run --name claude-bottle-a " + hardened + " --network none " + own + " -e CLAUDE_BOTTLE_SOCKET " +
				image("img") + " --proxy -- {ENTRYPOINT of the image} {CMD of the image}"},
		{"interactive terminal", Spec{Slug: "a", Image: "img", Stdin: stdin, TTY: true, Containment: paths(Containment{})},
			"docker run --name claude-bottle-a --rm -i -t " + hardened + " --network none " + own + " -e CLAUDE_BOTTLE_SOCKET " +
				image("img") + " --proxy -- {ENTRYPOINT of the image} {CMD of the image}"},
		{"cwd mounted at the same path, writable", Spec{Slug: "a", Image: "claude-bottle-cwd-a:0123456789ab", Cwd: "/home/me/p", Containment: paths(Containment{})},
			"docker run --name claude-bottle-a --rm " + hardened + " --network none " + own +
				" --mount type=bind,src=/home/me/p,dst=/home/me/p -w /home/me/p -e CLAUDE_BOTTLE_SOCKET " +
				image("claude-bottle-cwd-a:0123456789ab") + " --proxy -- {ENTRYPOINT of the image} {CMD of the image}"},
		// Values are not shown: ANTHROPIC_API_KEY must not reach a terminal
		// or a log through a dry run.
		{"environment by name only", Spec{Slug: "a", Image: "img", Env: []string{"ANTHROPIC_API_KEY=sk-secret", "MODE=x=y", "BARE"}, Containment: paths(Containment{})},
			"docker run --name claude-bottle-a --rm " + hardened + " --network none " + own + " -e ANTHROPIC_API_KEY -e MODE -e BARE -e CLAUDE_BOTTLE_SOCKET " +
				image("img") + " --proxy -- {ENTRYPOINT of the image} {CMD of the image}"},
		{"command after the image's entrypoint", Spec{Slug: "a", Image: "img", Cmd: []string{"sh", "-c", "echo hi"}, Containment: paths(Containment{})},
			"docker run --name claude-bottle-a --rm " + hardened + " --network none " + own + " -e CLAUDE_BOTTLE_SOCKET " +
				image("img") + " --proxy -- {ENTRYPOINT of the image} sh -c echo hi"},
		{"open network, own limits", Spec{Slug: "a", Image: "img", Containment: paths(Containment{Network: NetworkOpen, Limits: Limits{Pids: 64, Memory: 512 << 20, CPUs: 1.5}})},
			"docker run --name claude-bottle-a --rm --user 0:0 --cap-drop ALL --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER --cap-add SETUID --cap-add SETGID --cap-add SETPCAP " +
				"--security-opt no-new-privileges --pids-limit 64 --memory 512m --memory-swap 512m --cpus 1.5 " + own + " -e CLAUDE_BOTTLE_SOCKET " +
				image("img") + " -- {ENTRYPOINT of the image} {CMD of the image}"},
	}
	for _, tc := range tests {
		got := strings.Join(DockerRunEquivalent(tc.spec), " ")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if strings.Contains(got, "sk-secret") {
			t.Errorf("%s: the dry run shows a secret value: %s", tc.name, got)
		}
		if strings.Contains(got, "docker.sock") {
			t.Errorf("%s: a Docker socket is mounted: %s", tc.name, got)
		}
	}
}

// namedSignal is a cancel cause that names its signal, as the CLI's does.
type namedSignal string

func (s namedSignal) Error() string      { return "interrupted by " + string(s) }
func (s namedSignal) SignalName() string { return string(s) }

func TestSignalName(t *testing.T) {
	tests := []struct {
		cause error
		want  string
	}{
		{namedSignal("TERM"), "TERM"},
		{fmt.Errorf("stopping: %w", namedSignal("TERM")), "TERM"},
		{context.Canceled, "INT"},
		{errors.New("deadline"), "INT"},
		{nil, "INT"},
	}
	for _, tc := range tests {
		if got := signalName(tc.cause); got != tc.want {
			t.Errorf("signalName(%v) = %q, want %q", tc.cause, got, tc.want)
		}
	}
}
