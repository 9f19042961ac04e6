//go:build linux

package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// Helpers of the faults suite: one claude-bottle binary run against a
// fresh state root, watched for leaks.

// fcli is claude-bottle for one scenario: its own state root, and a leak
// check whose tag and TMPDIR every command it runs carries.
type fcli struct {
	t    *testing.T
	bin  string
	home string
	leak *testenv.LeakCheck
	env  []string
}

func newFCLI(t *testing.T) *fcli {
	t.Helper()
	c := &fcli{t: t, bin: testenv.ClaudeBottle(t), home: filepath.Join(t.TempDir(), "home"), leak: testenv.NewLeakCheck(t)}
	c.env = append([]string{
		"CLAUDE_BOTTLE_HOME=" + c.home,
		// Nothing from the caller's environment may choose for the test.
		"CLAUDE_BOTTLE_REPO=", "CLAUDE_BOTTLE_DRIVER=", "CLAUDE_BOTTLE_IN_PROCESS=",
		"BUILDKIT_HOST=", "DOCKER_HOST=",
		// A -race plugin would sleep a second on exit.
		"GORACE=atexit_sleep_ms=0",
	}, c.leak.Env()...)
	return c
}

// setHome moves the state root to dir (for a root on a small disk).
func (c *fcli) setHome(dir string) {
	c.home = dir
	c.env = append(c.env, "CLAUDE_BOTTLE_HOME="+dir) // the last value wins
}

// run runs one command to its end, bounded by limit.
func (c *fcli) run(limit time.Duration, args ...string) testenv.Result {
	c.t.Helper()
	return testenv.Run(c.t, limit, c.env, c.bin, args...)
}

// must runs a command and fails the test unless it exits with code.
func (c *fcli) must(code int, args ...string) testenv.Result {
	c.t.Helper()
	res := c.run(2*time.Minute, args...)
	if res.ExitCode != code {
		c.t.Fatalf("claude-bottle %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, code, res.Stdout, res.Stderr)
	}
	return res
}

// noLeaks fails the test if a process of this scenario still runs, or a
// file is left in its TMPDIR, within d.
func (c *fcli) noLeaks(d time.Duration) {
	c.t.Helper()
	c.leak.Check(c.t, d)
}

// fproc is a claude-bottle command running in the background, whose
// stderr lines can be waited for.
type fproc struct {
	t   *testing.T
	cmd *exec.Cmd

	mu     sync.Mutex
	lines  []string
	stdout bytes.Buffer

	done     chan struct{}
	exitedAt time.Time
	code     int
}

// start starts a command in the background; it is killed when the test
// ends if it still runs.
func (c *fcli) start(args ...string) *fproc {
	c.t.Helper()
	p := &fproc{t: c.t, cmd: exec.Command(c.bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), c.env...)
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go p.collect(stderr)
	c.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *fproc) collect(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.exitedAt = time.Now()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		p.code = ee.ExitCode()
		if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
			p.code = 128 + int(st.Signal())
		}
	}
	close(p.done)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// stderr returns what the command wrote to stderr so far.
func (p *fproc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits up to limit for a stderr line holding s and fails the
// test if none comes (or the command exits first).
func (p *fproc) waitLine(limit time.Duration, s string) {
	p.t.Helper()
	p.waitText(limit, "stderr", s, p.stderr)
}

// waitOut is waitLine for stdout (the bottle's own output, in a launch).
func (p *fproc) waitOut(limit time.Duration, s string) {
	p.t.Helper()
	p.waitText(limit, "stdout", s, p.stdoutText)
}

func (p *fproc) stdoutText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *fproc) waitText(limit time.Duration, stream, s string, text func() string) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for !strings.Contains(text(), s) {
		select {
		case <-p.done:
			if strings.Contains(text(), s) {
				return
			}
			p.t.Fatalf("claude-bottle %v exited (%d) before printing %q on %s\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], p.code, s, stream, p.stdoutText(), p.stderr())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("claude-bottle %v printed no %q on %s within %v\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], s, stream, limit, p.stdoutText(), p.stderr())
		}
	}
}

// signal sends sig to the claude-bottle process alone, as a terminal's
// Ctrl-C reaches it (its drivers run in process groups of their own).
func (p *fproc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits up to limit for the command to exit and returns its exit
// code and when it exited; it fails the test if it is still running.
func (p *fproc) wait(limit time.Duration) (int, time.Time) {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code, p.exitedAt
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("claude-bottle %v still running %v later (hang)\nstderr:\n%s", p.cmd.Args[1:], limit, p.stderr())
		return 0, time.Time{}
	}
}

// errorLine is the "claude-bottle: ..." line of a failed command (not a
// "claude-bottle: warning: ..." line before it).
func errorLine(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "claude-bottle: ") && !strings.HasPrefix(l, "claude-bottle: warning: ") {
			return l
		}
	}
	return ""
}

// wantError checks a failed command's exit code and that its error line
// says each of want.
func wantError(t *testing.T, what string, code int, stderr string, gotCode int, want ...string) {
	t.Helper()
	if gotCode != code {
		t.Errorf("%s: exit %d, want %d\nstderr:\n%s", what, gotCode, code, stderr)
	}
	line := errorLine(stderr)
	if line == "" {
		t.Errorf("%s: no \"claude-bottle: ...\" error line on stderr:\n%s", what, stderr)
		return
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("%s: error line does not say %q:\n%s", what, w, line)
		}
	}
}

// randHex returns n random bytes in hex.
func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// faultSlug is a slug no other test uses; its rebuilt image is removed
// when t ends.
func faultSlug(t *testing.T, prefix string) string {
	t.Helper()
	slug := "flt-" + prefix + "-" + randHex(3)
	testenv.RemoveImages(t, "claude-bottle-rebuilt-"+slug+":latest")
	return slug
}

// faultRepo is a repo with a static busybox and the given files.
func faultRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	if files == nil {
		files = map[string]string{}
	}
	if _, ok := files["Dockerfile"]; !ok {
		files["Dockerfile"] = testenv.BusyboxDockerfile
	}
	return testenv.BusyboxContext(t, files)
}

// setOverride gives a bottle its own Dockerfile through the CLI.
func (c *fcli) setOverride(slug, dockerfile string) {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(dockerfile), 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.must(0, "state", "set-dockerfile", slug, p)
}

// imageID returns the engine's ID of image, or "" if it has none.
func imageID(image string) string {
	id, err := testenv.DockerOut("image", "inspect", "--format", "{{.Id}}", image)
	if err != nil {
		return ""
	}
	return id
}

// treeDigest lists every path under root with its mode and a hash of its
// content, to prove a command changed nothing there.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return "<absent>"
	}
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		line := strings.TrimPrefix(p, root) + " " + fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:8])
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// activeBuilds returns the refs of the builds a buildkitd is running now.
func activeBuilds(t *testing.T, bk *testenv.BuildkitDaemon) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bk.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{ActiveOnly: true, EarlyExit: true})
	if err != nil {
		t.Fatalf("ListenBuildHistory: %v", err)
	}
	var refs []string
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return refs
		}
		if err != nil {
			t.Fatalf("ListenBuildHistory: %v", err)
		}
		if ev.Record != nil && ev.Record.CompletedAt == nil {
			refs = append(refs, ev.Record.Ref)
		}
	}
}

// noActiveBuilds waits up to d for the buildkitd to run no build and no
// RUN step.
func noActiveBuilds(t *testing.T, bk *testenv.BuildkitDaemon, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		builds, steps := activeBuilds(t, bk), bk.RunningSteps()
		if len(builds) == 0 && len(steps) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("buildkitd still runs builds %v and steps %v %v after the command ended", builds, steps, d)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// since formats how long ago t0 was, for logs.
func since(t0 time.Time) string { return fmt.Sprint(time.Since(t0).Round(time.Millisecond)) }

// containsLine reports whether text has a line equal to line.
func containsLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// readFile returns a file's content, or "<error>" if it cannot be read.
func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}
