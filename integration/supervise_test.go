//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// The remediation loop of issue 14 end to end, on the offline example and
// the real engine: `claude-bottle launch` runs a bottle whose command is a
// script (the agent); the script asks for capabilities with the in-bottle
// `claude-bottle request capability`, as the test tells it through files in
// its working folder; the test decides with the CLI. A timeout, a denial,
// a failing build and a Ctrl-C during the build each leave the same
// container running on the same image, with the bottle's state, override
// and tags unchanged. Then an approval: the launch swaps the bottle onto
// the new image, and the script, run again by the resume command, finds
// the capability, its session file and ~/.claude.json byte for byte.

// agentScript is the bottle's agent. First run: it writes its session
// (a session under ~/.claude/projects/, which --resume restores, and ~/.claude.json, with a copy of the latter in its
// folder), then does what the files ask-1, ask-2... say, one at a time,
// writing each request's output and exit code beside them. Run again by
// the resume command on an image that has the capability, it reports what
// it finds and exits 0.
const agentScript = `cd "$(dirname "$0")"
if [ -f /etc/cap-tool ]; then
	echo "resumed: capability=$(cat /etc/cap-tool) session=$(cat "$HOME/.claude/projects/p/session.jsonl")"
	cat "$HOME/.claude.json" > claude-json-after
	exit 0
fi
mkdir -p "$HOME/.claude/projects/p"
echo session-123 > "$HOME/.claude/projects/p/session.jsonl"
printf '{"oauthAccount":{"emailAddress":"agent@example"},"projects":{"%s":{"allowedTools":[]}}}\n' "$PWD" > "$HOME/.claude.json"
cp "$HOME/.claude.json" claude-json-before
n=0
while [ $n -lt 10 ]; do
	n=$((n+1))
	i=0
	while [ ! -f ask-$n ]; do
		i=$((i+1)); [ $i -gt 3000 ] && exit 9
		usleep 100000
	done
	. ./ask-$n
	/opt/claude-bottle/bin/claude-bottle request capability "$NAME" --run "$RUN" --reason "the test asks" --wait "$WAIT" > out-$n 2>&1
	echo $? > code-$n.tmp && mv code-$n.tmp code-$n
done
sleep 600
`

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// supervised is one bottle under `claude-bottle launch`, and the test's
// handle on its agent.
type supervised struct {
	t                *testing.T
	c                *cli
	slug, repo, cwd  string
	home             string
	store            *request.Store
	launch           *exec.Cmd
	stdout, stderr   *syncBuffer
	exited           chan struct{}
	exitCode         int
	container        string
	asks             int
	baseID           string
	unchangedDigest  string
	rebuilt, derived string
}

func TestSuperviseLoop(t *testing.T) {
	testenv.RequireDocker(t)
	s := startSupervised(t)
	s.baseID = imageID(s.rebuilt)
	s.unchangedDigest = s.stateDigest()

	t.Run("second launch refused", s.secondLaunch)
	t.Run("mcp in the launched bottle", s.mcpStatus)
	t.Run("timeout", s.timeout)
	t.Run("denial", s.denial)
	t.Run("failing build", s.failingBuild)
	t.Run("ctrl-c during the build", s.interruptedBuild)
	t.Run("approve and resume", s.approveAndResume)
	t.Run("approve while stopped, then --resume", s.approveStopped)
}

func startSupervised(t *testing.T) *supervised {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "offline", "repo", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, "--driver", "buildkit")
	c.env = append(c.env, "USER=cb-tester", "CLAUDE_BOTTLE_REPO=", "CLAUDE_BOTTLE_DRIVER=", "CLAUDE_BOTTLE_IN_PROCESS=", "BUILDKIT_HOST=", "DOCKER_HOST=")
	s := &supervised{
		t: t, c: c, slug: "sup-" + randHex(3),
		repo:   testenv.BusyboxContext(t, map[string]string{"Dockerfile": string(example)}),
		cwd:    t.TempDir(),
		home:   strings.TrimPrefix(c.env[0], "CLAUDE_BOTTLE_HOME="),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{}),
	}
	s.rebuilt = bottle.RebuiltImage(s.slug)
	s.derived = bottle.DerivedImage(s.slug, s.cwd)
	testenv.RemoveImages(t, s.rebuilt, bottle.PreviousImage(s.slug), s.derived)
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", bottle.ContainerName(s.slug)) })
	if err := os.WriteFile(filepath.Join(s.cwd, "agent.sh"), []byte(agentScript), 0o755); err != nil {
		t.Fatal(err)
	}
	// The offline example as the bottle's own Dockerfile: its image is the
	// bottle's own tag, not the claude-bottle:latest every bottle shares.
	override := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(override, example, 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "state", "set-dockerfile", s.slug, override)
	st, err := state.Open(s.home)
	if err != nil {
		t.Fatal(err)
	}
	s.store = request.NewStore(st)

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	s.launch = exec.CommandContext(ctx, c.bin, s.launchArgs()...)
	s.launch.Env = append(os.Environ(), c.env...)
	s.launch.Stdout, s.launch.Stderr = s.stdout, s.stderr
	if err := s.launch.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.launch.Wait()
		s.exitCode = s.launch.ProcessState.ExitCode()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.launch.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			s.launch.Process.Kill()
		}
	})
	s.container = s.waitRunning()
	return s
}

func (s *supervised) launchArgs() []string {
	return s.c.with("launch", s.slug, "--log-level", "debug", "--repo", s.repo, "--cwd", s.cwd, "--progress", "plain",
		"--swap-grace", "1s", "--resume-command", "sh agent.sh", "--", "sh", "agent.sh")
}

// waitRunning waits for the bottle's container to run and returns its ID.
func (s *supervised) waitRunning() string {
	s.t.Helper()
	name := bottle.ContainerName(s.slug)
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := testenv.DockerOut("container", "inspect", "--format", "{{.Id}} {{.State.Running}}", name)
		if id, running, _ := strings.Cut(out, " "); err == nil && running == "true" {
			if _, err := os.Stat(filepath.Join(s.cwd, "claude-json-before")); err == nil {
				return id
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("launch exited (%d) before the bottle ran\nstdout:\n%s\nstderr:\n%s", s.exitCode, s.stdout, s.stderr)
		case <-time.After(200 * time.Millisecond):
		}
	}
	s.t.Fatalf("the bottle did not start within 3 minutes\nstderr:\n%s", s.stderr)
	return ""
}

// ask makes the agent request a capability and returns the request once
// it is stored.
func (s *supervised) ask(name, run, wait string) *request.Request {
	s.t.Helper()
	s.asks++
	body := fmt.Sprintf("NAME=%s\nRUN=%s\nWAIT=%s\n", shellQuote(name), shellQuote(run), shellQuote(wait))
	tmp := filepath.Join(s.cwd, ".ask.tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(s.cwd, "ask-"+strconv.Itoa(s.asks))); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		rs, _ := s.store.List(s.slug)
		for _, r := range rs {
			if r.Name == name {
				s.waitLine("request approve " + r.ID)
				return r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("the agent's request %q never arrived\nstderr:\n%s", name, s.stderr)
	return nil
}

// answer waits for the agent's request to return and gives its exit code
// and output.
func (s *supervised) answer() (int, string) {
	s.t.Helper()
	path := filepath.Join(s.cwd, "code-"+strconv.Itoa(s.asks))
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil {
			code, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			return code, readFile(s.t, filepath.Join(s.cwd, "out-"+strconv.Itoa(s.asks)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("the agent's request %d did not return", s.asks)
	return 0, ""
}

// waitLine waits for launch's stderr to say want.
func (s *supervised) waitLine(want string) string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			if strings.Contains(line, want) {
				return line
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("launch never said %q\nstderr:\n%s", want, s.stderr)
	return ""
}

// unchanged checks that the same container runs on the same image, and
// that the bottle's state (its requests aside), override and tag are as
// they were before any request.
func (s *supervised) unchanged() {
	s.t.Helper()
	out, err := testenv.DockerOut("container", "inspect", "--format", "{{.Id}} {{.State.Running}}", bottle.ContainerName(s.slug))
	if err != nil || out != s.container+" true" {
		s.t.Errorf("bottle container = %q (%v), want %s still running", out, err, s.container)
	}
	if id := imageID(bottle.PreviousImage(s.slug)); id != "" {
		s.t.Errorf("%s exists (%s): a request that was not applied swapped the tag", bottle.PreviousImage(s.slug), id)
	}
	if id := imageID(s.rebuilt); id != s.baseID {
		s.t.Errorf("%s moved from %s to %s", s.rebuilt, s.baseID, id)
	}
	if got := s.stateDigest(); got != s.unchangedDigest {
		s.t.Errorf("the bottle's state changed:\nbefore:\n%s\nafter:\n%s", s.unchangedDigest, got)
	}
}

// stateDigest is treeDigest of the bottle's state folder without its
// requests and lock files.
func (s *supervised) stateDigest() string {
	var keep []string
	for _, line := range strings.Split(treeDigest(s.t, filepath.Join(s.home, "state", s.slug)), "\n") {
		if !strings.HasPrefix(line, "/"+request.Folder) && !strings.Contains(line, ".lock ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func (s *supervised) secondLaunch(t *testing.T) {
	s.c.t = t
	start := time.Now()
	res := testenv.Run(t, time.Minute, s.c.env, s.c.bin, s.launchArgs()...)
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, "another claude-bottle launch runs bottle "+s.slug) {
		t.Errorf("second launch: exit %d, want 1 and one line saying the bottle runs\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("second launch took %s to be refused; it must not build first", d)
	}
	s.unchanged()
}

// mcpStatus drives `claude-bottle mcp` in the launched bottle through the
// official SDK's client: bottle_status answers through the socket the
// launch serves.
func (s *supervised) mcpStatus(t *testing.T) {
	user := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	cmd := exec.Command(testenv.DockerCLI(), "exec", "-i", "-u", user, s.container, bottleapi.BinaryPath, "mcp", "--wait", "5s")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "integration", Version: "1"}, nil).Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connecting to claude-bottle mcp in the launched bottle: %v", err)
	}
	defer cs.Close()
	res, text := callInBottle(t, cs, inbottle.ToolBottleStatus, map[string]any{})
	if res.IsError || !strings.Contains(text, s.derived) {
		t.Errorf("bottle_status in the launched bottle = %q (error %v), want the running image %s", text, res.IsError, s.derived)
	}
}

func (s *supervised) timeout(t *testing.T) {
	s.t = t
	r := s.ask("slow-decider", "true", "2s")
	code, out := s.answer()
	if code != inbottle.ExitTimedOut {
		t.Errorf("request capability exit %d, want %d (timed out)\n%s", code, inbottle.ExitTimedOut, out)
	}
	if got, _ := s.store.Get(s.slug, r.ID); got == nil || got.State != bottleapi.StateExpired {
		t.Errorf("request after the timeout = %+v, want expired", got)
	}
	s.unchanged()
}

func (s *supervised) denial(t *testing.T) {
	s.t, s.c.t = t, t
	r := s.ask("denied-tool", "echo no > /etc/denied", "2m")
	s.c.run(0, "request", "deny", r.ID, "--reason", "not in this bottle")
	code, out := s.answer()
	if code != inbottle.ExitDenied || !strings.Contains(out, "not in this bottle") {
		t.Errorf("request capability exit %d, want %d (denied) with the reason\n%s", code, inbottle.ExitDenied, out)
	}
	s.unchanged()
}

func (s *supervised) failingBuild(t *testing.T) {
	s.t, s.c.t = t, t
	r := s.ask("broken", "echo broken-step-output; exit 7", "2m")
	res := testenv.Run(t, 3*time.Minute, s.c.env, s.c.bin, s.c.with("request", "approve", r.ID, "--repo", s.repo, "--progress", "plain")...)
	if res.ExitCode == 0 {
		t.Errorf("approving a failing build exited 0\n%s", res.Stderr)
	}
	code, out := s.answer()
	if code == inbottle.ExitApproved {
		t.Errorf("request capability exit 0 after a failed build\n%s", out)
	}
	if got, _ := s.store.Get(s.slug, r.ID); got == nil || got.State != bottleapi.StateFailed {
		t.Errorf("request after the failed build = %+v, want failed", got)
	}
	s.waitLine("request " + r.ID + " of bottle " + s.slug + " failed to build")
	s.unchanged()
}

func (s *supervised) interruptedBuild(t *testing.T) {
	s.t, s.c.t = t, t
	r := s.ask("slow-build", "sleep 30; echo slow > /etc/slow", "2m")
	var out syncBuffer
	cmd := exec.Command(s.c.bin, s.c.with("request", "approve", r.ID, "--repo", s.repo, "--progress", "plain")...)
	cmd.Env = append(os.Environ(), s.c.env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { cmd.Wait(); done <- cmd.ProcessState.ExitCode() }()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "sleep 30") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // the step runs
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("approve after SIGINT exited %d, want 130\n%s", code, out.String())
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("approve did not stop within a minute of SIGINT\n%s", out.String())
	}
	if got, _ := s.store.Get(s.slug, r.ID); got == nil || got.State != bottleapi.StatePending {
		t.Errorf("request after Ctrl-C = %+v, want pending again", got)
	}
	s.unchanged()
	s.c.run(0, "request", "deny", r.ID, "--reason", "interrupted")
	if code, out := s.answer(); code != inbottle.ExitDenied {
		t.Errorf("request capability exit %d after the denial, want %d\n%s", code, inbottle.ExitDenied, out)
	}
}

func (s *supervised) approveAndResume(t *testing.T) {
	s.t, s.c.t = t, t
	r := s.ask("tool", "echo tool-v1 > /etc/cap-tool", "2m")
	start := time.Now()
	s.c.run(0, s.c.with("request", "approve", r.ID, "--repo", s.repo, "--progress", "plain")...)
	built := time.Since(start)
	code, out := s.answer()
	if code != inbottle.ExitApproved {
		t.Errorf("the agent's pending call got exit %d before the swap, want 0\n%s", code, out)
	}
	select {
	case <-s.exited:
	case <-time.After(2 * time.Minute):
		t.Fatalf("launch did not end after the resumed agent exited\nstderr:\n%s", s.stderr)
	}
	resumed := time.Since(start)
	t.Logf("approve: build and swap %.1fs; approve to resumed agent done %.1fs", built.Seconds(), resumed.Seconds())
	if s.exitCode != 0 {
		t.Errorf("launch exited %d, want 0 (the resumed agent's)\nstderr:\n%s", s.exitCode, s.stderr)
	}
	if want := "resumed: capability=tool-v1 session=session-123"; !strings.Contains(s.stdout.String(), want) {
		t.Errorf("the resumed agent did not say %q\nstdout:\n%s", want, s.stdout)
	}
	line := s.waitLine("restarts on its new image")
	for _, w := range []string{r.ID, s.slug, "with its transcript (1 file)", "sh agent.sh"} {
		if !strings.Contains(line, w) {
			t.Errorf("swap line %q does not say %q", line, w)
		}
	}
	before, after := readFile(t, filepath.Join(s.cwd, "claude-json-before")), readFile(t, filepath.Join(s.cwd, "claude-json-after"))
	if before != after || !strings.Contains(before, "agent@example") {
		t.Errorf("~/.claude.json did not come back byte for byte:\nbefore %q\nafter  %q", before, after)
	}
	var list struct {
		Capabilities []struct{ Name string }
	}
	if err := json.Unmarshal([]byte(s.c.run(0, "capability", "list", s.slug, "--repo", s.repo, "--format", "json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Capabilities) != 1 || list.Capabilities[0].Name != "tool" {
		t.Errorf("capabilities after the approval = %+v", list)
	}
	if got, _ := s.store.Get(s.slug, r.ID); got == nil || got.State != bottleapi.StateApplied {
		t.Errorf("request = %+v, want applied", got)
	}
	if _, err := testenv.DockerOut("container", "inspect", bottle.ContainerName(s.slug)); err == nil {
		t.Error("the container was kept after launch ended")
	}
	t.Logf("launch's stderr:\n%s", s.stderr)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// approveStopped: a request of a bottle no launch runs is applied by the
// CLI (build, then swap the tag); the next launch says that --resume
// continues the session, and --resume does.
func (s *supervised) approveStopped(t *testing.T) {
	s.t, s.c.t = t, t
	r, err := s.store.Create(context.Background(), s.slug, bottleapi.CreateRequest{
		Kind: bottleapi.KindCapability, Name: "later", Run: []string{"echo later > /etc/later"}, Reason: "asked before it stopped",
	})
	if err != nil {
		t.Fatal(err)
	}
	s.c.run(0, s.c.with("request", "approve", r.ID, "--repo", s.repo, "--progress", "quiet")...)
	res := s.c.run(0, s.c.with("launch", s.slug, "--repo", s.repo, "--cwd", s.cwd, "--dry-run")...)
	if !strings.Contains(res.Stderr, "request "+r.ID+" applied") || !strings.Contains(res.Stderr, "add --resume") {
		t.Errorf("launch after an approval while stopped gave no --resume hint:\n%s", res.Stderr)
	}
	res = s.c.run(0, s.c.with("launch", s.slug, "--repo", s.repo, "--cwd", s.cwd, "--progress", "quiet", "--resume", "--",
		"sh", "-c", "cat /etc/later /home/node/.claude/projects/p/session.jsonl")...)
	if got := strings.Fields(res.Stdout); len(got) != 2 || got[0] != "later" || got[1] != "session-123" || strings.Contains(res.Stderr, "add --resume") {
		t.Errorf("launch --resume: stdout %q (want the capability approved while stopped, then the session), stderr:\n%s", res.Stdout, res.Stderr)
	}
}

// ttyAgent asks for a capability, then waits to be swapped; run again on
// the new image, it reads a line from its terminal and echoes it.
const ttyAgent = `cd "$(dirname "$0")"
if [ -f /etc/tty-cap ]; then
	echo "resumed, type a line"
	read line
	echo "got:$line"
	exit 0
fi
/opt/claude-bottle/bin/claude-bottle request capability ttycap --run 'echo yes > /etc/tty-cap' --reason 'in a terminal' --wait 2m > asked 2>&1
echo "asked: $?"
sleep 600
`

// TestSuperviseTerminal runs the swap in a real terminal (tmux): the
// request's line and the swap's line each start on a line of their own
// over the bottle's raw terminal, and the terminal stays attached across
// the swap: a line typed after it reaches the new container.
func TestSuperviseTerminal(t *testing.T) {
	testenv.RequireDocker(t)
	tm := newTmux(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "swaptty")
	cwd := t.TempDir()
	testenv.RemoveImages(t, bottle.PreviousImage(slug), bottle.DerivedImage(slug, cwd))
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", bottle.ContainerName(slug)) })
	if err := os.WriteFile(filepath.Join(cwd, "agent.sh"), []byte(ttyAgent), 0o644); err != nil {
		t.Fatal(err)
	}
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\nENV HOME=/home/node\n")
	tm.start("swap", 120, 30, c.env, c.bin, "launch", slug, "--repo", repo, "--cwd", cwd, "--driver", "buildkit", "--progress", "quiet",
		"--resume-command", "sh agent.sh", "--", "sh", "agent.sh")

	st, err := state.Open(c.home)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	waitFor(t, 2*time.Minute, "the bottle's request", func() bool {
		rs, _ := request.NewStore(st).List(slug)
		if len(rs) > 0 {
			id = rs[0].ID
		}
		return id != ""
	})
	notice := "claude-bottle: bottle " + slug + " asks for capability ttycap"
	waitFor(t, 10*time.Second, "the request's line in the terminal", func() bool { return hasLinePrefix(tm.screen("swap"), notice) })
	c.must(0, "request", "approve", id, "--repo", repo, "--driver", "buildkit", "--progress", "quiet")
	tm.waitScreen("swap", "resumed, type a line", time.Minute)
	if !hasLinePrefix(tm.screen("swap"), "claude-bottle: request "+id+" applied") {
		t.Errorf("the swap's line does not start a line of its own:\n%s", tm.screen("swap"))
	}
	tm.typeLine("swap", "hello-after-swap")
	tm.waitScreen("swap", "got:hello-after-swap", 30*time.Second)
	waitFor(t, 30*time.Second, "launch to exit", func() bool { _, ok := tm.exitStatus("swap"); return ok })
	if code, _ := tm.exitStatus("swap"); code != "0" {
		t.Errorf("launch exited %s:\n%s", code, tm.screen("swap"))
	}
	if got := readFile(t, filepath.Join(cwd, "asked")); !strings.Contains(got, "Approved") {
		t.Errorf("the agent's pending request did not get its answer before the swap: %s", got)
	}
	t.Logf("the terminal:\n%s", tm.screen("swap"))
}

// hasLinePrefix reports whether a line of text starts with prefix.
func hasLinePrefix(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// fallbackAgent counts its runs in its folder. First run: it asks for a
// capability that turns the agent's HOME into a file, so the new image
// cannot take the transcript back and does not start; the launch goes
// back to the old image, where the second run says so and exits.
const fallbackAgent = `cd "$(dirname "$0")"
n=$(cat runs 2>/dev/null || echo 0); n=$((n+1)); echo $n > runs
if [ $n -gt 1 ]; then
	echo "run $n on the $(cat /etc/which 2>/dev/null || echo old) image, session $(cat "$HOME/.claude/projects/p/session.jsonl")"
	exit 0
fi
mkdir -p "$HOME/.claude/projects/p"
echo session-fb > "$HOME/.claude/projects/p/session.jsonl"
/opt/claude-bottle/bin/claude-bottle request capability breakhome --run 'rm -rf /home/node && echo file > /home/node && echo new > /etc/which' --reason 'break it' --wait 2m > asked 2>&1
sleep 600
`

// TestSuperviseFallback: when the new image does not start, the launch
// starts the old one again, with the transcript and the resume command,
// and says so in one line.
func TestSuperviseFallback(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "fallback")
	cwd := t.TempDir()
	testenv.RemoveImages(t, bottle.PreviousImage(slug), bottle.DerivedImage(slug, cwd))
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", bottle.ContainerName(slug)) })
	if err := os.WriteFile(filepath.Join(cwd, "agent.sh"), []byte(fallbackAgent), 0o644); err != nil {
		t.Fatal(err)
	}
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\nENV HOME=/home/node\n")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	launch := exec.CommandContext(ctx, c.bin, "launch", slug, "--repo", repo, "--cwd", cwd, "--driver", "buildkit", "--progress", "quiet",
		"--resume-command", "sh agent.sh", "--", "sh", "agent.sh")
	launch.Env = append(os.Environ(), c.env...)
	launch.Stdout, launch.Stderr = &stdout, &stderr
	if err := launch.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- launch.Wait() }()

	st, err := state.Open(c.home)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	waitFor(t, 2*time.Minute, "the bottle's request", func() bool {
		rs, _ := request.NewStore(st).List(slug)
		if len(rs) > 0 {
			id = rs[0].ID
		}
		return id != ""
	})
	c.must(0, "request", "approve", id, "--repo", repo, "--driver", "buildkit", "--progress", "quiet")
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("launch: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("launch did not end\nstderr:\n%s", stderr.String())
	}
	if want := "run 2 on the old image, session session-fb"; !strings.Contains(stdout.String(), want) {
		t.Errorf("the agent did not run again on the old image (want %q)\nstdout:\n%s\nstderr:\n%s", want, stdout.String(), stderr.String())
	}
	if want := "the new image of bottle " + slug + " did not start"; !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "back on the old image") {
		t.Errorf("launch did not say it went back to the old image\nstderr:\n%s", stderr.String())
	}
	t.Logf("launch's stderr:\n%s", stderr.String())
}
