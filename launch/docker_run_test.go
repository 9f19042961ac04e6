package launch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDockerRunEquivalent(t *testing.T) {
	stdin := strings.NewReader("")
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"minimal", Spec{Slug: "a", Image: "claude-bottle:latest"},
			"docker run --name claude-bottle-a --rm claude-bottle:latest"},
		{"keep", Spec{Slug: "a", Image: "img", Keep: true},
			"docker run --name claude-bottle-a img"},
		{"interactive terminal", Spec{Slug: "a", Image: "img", Stdin: stdin, TTY: true},
			"docker run --name claude-bottle-a --rm -i -t img"},
		{"stdin without a terminal", Spec{Slug: "a", Image: "img", Stdin: stdin},
			"docker run --name claude-bottle-a --rm -i img"},
		{"cwd mounted at the same path", Spec{Slug: "a", Image: "claude-bottle-cwd-a:0123456789ab", Cwd: "/home/me/p"},
			"docker run --name claude-bottle-a --rm -v /home/me/p:/home/me/p -w /home/me/p claude-bottle-cwd-a:0123456789ab"},
		// Values are not shown: ANTHROPIC_API_KEY must not reach a terminal
		// or a log through a dry run.
		{"environment by name only", Spec{Slug: "a", Image: "img", Env: []string{"ANTHROPIC_API_KEY=sk-secret", "MODE=x=y", "BARE"}},
			"docker run --name claude-bottle-a --rm -e ANTHROPIC_API_KEY -e MODE -e BARE img"},
		{"command", Spec{Slug: "a", Image: "img", Cmd: []string{"sh", "-c", "echo hi"}},
			"docker run --name claude-bottle-a --rm img sh -c echo hi"},
	}
	for _, tc := range tests {
		got := strings.Join(DockerRunEquivalent(tc.spec), " ")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if strings.Contains(got, "sk-secret") {
			t.Errorf("%s: the dry run shows a secret value: %s", tc.name, got)
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
