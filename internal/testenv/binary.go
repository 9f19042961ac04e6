package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// RepoRoot returns the module's root folder (where go.mod is).
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the claude-bottle module")
	}
	return filepath.Dir(mod), nil
}

// ClaudeBottle builds the claude-bottle binary once per test binary and
// returns its path; it is removed when the test binary ends.
func ClaudeBottle(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "claude-bottle-bin-")
		if err == nil {
			// Readable by all: tests run the binary as a non-root user too.
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			binErr = err
			return
		}
		AtExit(func() { os.RemoveAll(dir) })
		binPath = filepath.Join(dir, "claude-bottle")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/claude-bottle")
		// Static, as make build makes it: launch mounts this binary as the
		// bottle's PID 1 and refuses a dynamic one.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/claude-bottle: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("%v", binErr)
	}
	return binPath
}

// Result is what a command run by Run printed and how it exited.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs the command with env added to the test's environment, bounded by
// timeout, and returns its output and exit code. It fails t only when the
// command cannot be started or times out.
func Run(t testing.TB, timeout time.Duration, env []string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not finish within %v\nstdout:\n%s\nstderr:\n%s", name, args, timeout, stdout.String(), stderr.String())
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", name, err)
	}
	return res
}
