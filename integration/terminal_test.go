//go:build linux

package integration

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// tmux is a private tmux server (its own socket, no user config) whose
// sessions are the real terminals a person would run claude-bottle in.
type tmux struct {
	t    *testing.T
	bin  string
	sock string
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		testenv.Unavailable(t, "no tmux (apt-get install tmux; scripts/setup installs it)")
	}
	tm := &tmux{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	t.Cleanup(func() { exec.Command(tm.bin, "-S", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmux) run(args ...string) string {
	tm.t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(tm.bin, append([]string{"-S", tm.sock, "-f", "/dev/null"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tm.t.Fatalf("tmux %v: %v: %s", args, err, errb.String())
	}
	return out.String()
}

// start runs argv with env in a new detached session of width x height;
// the pane stays after the command exits, so its end can be read.
func (tm *tmux) start(name string, width, height int, env []string, argv ...string) {
	tm.t.Helper()
	args := []string{"new-session", "-d", "-s", name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height), "env"}
	args = append(append(args, env...), argv...)
	tm.run(args...)
	tm.run("set-option", "-t", name, "remain-on-exit", "on")
}

// typeLine types s and Enter into the session's pane.
func (tm *tmux) typeLine(name, s string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", name, "-l", s)
	tm.run("send-keys", "-t", name, "Enter")
}

func (tm *tmux) resize(name string, width, height int) {
	tm.t.Helper()
	tm.run("resize-window", "-t", name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}

// screen is what the session's pane shows, with its scrollback.
func (tm *tmux) screen(name string) string {
	tm.t.Helper()
	return tm.run("capture-pane", "-p", "-J", "-S", "-200", "-t", name)
}

// waitScreen waits up to limit for a line of the pane equal to line.
func (tm *tmux) waitScreen(name, line string, limit time.Duration) {
	tm.t.Helper()
	deadline := time.Now().Add(limit)
	for !containsLine(tm.screen(name), line) {
		if time.Now().After(deadline) {
			tm.t.Fatalf("terminal %s shows no line %q within %v:\n%s", name, line, limit, tm.screen(name))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// askSize types `stty size` into the bottle through the session until the
// pane shows the size the bottle's terminal should have. Typing again
// covers a shell that was not yet reading, or a resize not yet applied.
func (tm *tmux) askSize(name string, width, height int, limit time.Duration) {
	tm.t.Helper()
	want := fmt.Sprintf("%d %d", height, width)
	deadline := time.Now().Add(limit)
	for {
		tm.typeLine(name, "stty size")
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			if containsLine(tm.screen(name), want) {
				return
			}
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("the bottle in terminal %s never said its size is %q (%dx%d) within %v:\n%s", name, want, width, height, limit, tm.screen(name))
		}
	}
}

// paneDead reports whether the session's command has exited, and how:
// "exit N" or "signal N". tmux may see the pane close a moment before it
// reaps the process, so a dead pane without either is not done yet.
func (tm *tmux) paneDead(name string) (bool, string) {
	tm.t.Helper()
	f := strings.Fields(tm.run("display-message", "-p", "-t", name, "#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal}"))
	switch {
	case len(f) < 3 || f[0] != "1":
		return false, ""
	case f[2] != "signal=":
		return true, "signal " + strings.TrimPrefix(f[2], "signal=")
	case f[1] != "status=":
		return true, "exit " + strings.TrimPrefix(f[1], "status=")
	}
	return false, ""
}

// TestLaunchFollowsTerminalSize runs `claude-bottle launch -- sh` in a
// 120x30 terminal, resizes the terminal to 90x20, and reads `stty size`
// inside the bottle before and after. Then `launch --attach` joins the
// bottle from a 100x25 terminal, which is resized to 80x22 in turn.
func TestLaunchFollowsTerminalSize(t *testing.T) {
	testenv.RequireDocker(t)
	tm := newTmux(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "resize")
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
	c.must(0, "build", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet")
	launch := []string{c.bin, "launch", slug, "--repo", repo, "--driver", "buildkit", "--no-build", "--progress", "quiet"}

	tm.start("first", 120, 30, c.env, append(launch, "--", "sh")...)
	tm.askSize("first", 120, 30, time.Minute)
	tm.resize("first", 90, 20)
	tm.askSize("first", 90, 20, 15*time.Second)

	tm.start("second", 100, 25, c.env, append(launch, "--attach")...)
	tm.askSize("second", 100, 25, 30*time.Second)
	tm.resize("second", 80, 22)
	tm.askSize("second", 80, 22, 15*time.Second)

	tm.typeLine("second", "exit 0")
	for _, name := range []string{"first", "second"} {
		waitFor(t, 30*time.Second, "claude-bottle in terminal "+name+" to exit", func() bool { dead, _ := tm.paneDead(name); return dead })
		if _, how := tm.paneDead(name); how != "exit 0" {
			t.Errorf("claude-bottle in terminal %s ended with %s:\n%s", name, how, tm.screen(name))
		}
	}
	c.noLeaks(5 * time.Second)
}
