//go:build linux

package integration

import (
	"bytes"
	"fmt"
	"os"
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
	dir  string // where each session's exit status is written
}

func newTmux(t *testing.T) *tmux {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		testenv.Unavailable(t, "no tmux (apt-get install tmux; scripts/setup installs it)")
	}
	tm := &tmux{t: t, bin: bin, sock: filepath.Join(t.TempDir(), "tmux.sock"), dir: t.TempDir()}
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

// start runs argv with env in a new detached session of width x height.
// A shell in the pane runs it in the terminal's foreground and writes its
// exit status to a file (tmux itself was seen to leave an exited pane
// process unreaped, its status unknown); the pane stays after it exits, so
// its end can be read.
func (tm *tmux) start(name string, width, height int, env []string, argv ...string) {
	tm.t.Helper()
	status := filepath.Join(tm.dir, name)
	args := []string{"new-session", "-d", "-s", name, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		"sh", "-c", `"$@"; echo $? > "` + status + `"`, "sh", "env"}
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

// exitStatus returns the exit status of the session's command once it
// has exited.
func (tm *tmux) exitStatus(name string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(tm.dir, name))
	if err != nil || !bytes.HasSuffix(data, []byte("\n")) {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
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
		waitFor(t, 30*time.Second, "claude-bottle in terminal "+name+" to exit", func() bool { _, ok := tm.exitStatus(name); return ok })
		if code, _ := tm.exitStatus(name); code != "0" {
			t.Errorf("claude-bottle in terminal %s exited %s:\n%s", name, code, tm.screen(name))
		}
	}
	c.noLeaks(5 * time.Second)
}
