package clirun

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// collect runs script under sh and returns its lines as "STREAM:line".
func collect(t *testing.T, ctx context.Context, script string, o Options) ([]string, error) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	o.Line = func(stream int, s string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, string(rune('0'+stream))+":"+s)
	}
	err := Run(ctx, exec.Command("/bin/sh", "-c", script), o)
	mu.Lock()
	defer mu.Unlock()
	return lines, err
}

func TestRunSplitsOutput(t *testing.T) {
	lines, err := collect(t, context.Background(), `echo out; echo err >&2; printf 'step 1\r\033[Kstep 2\n'; printf 'no line end'`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(lines, "|")
	for _, want := range []string{"1:out", "2:err", "1:\x1b[Kstep 2", "1:no line end"} {
		if !strings.Contains(got, want) {
			t.Errorf("lines %q lack %q", lines, want)
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	_, err := collect(t, context.Background(), "echo failing >&2; exit 3", Options{})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("Run = %v, want exit status 3", err)
	}
}

func TestRunCancel(t *testing.T) {
	tests := []struct {
		name   string
		script string
		within time.Duration
		line   string // the CLI's last words, if it had time for them
	}{
		{"stops on SIGTERM", `trap 'echo got TERM; exit 143' TERM; echo ready; while :; do sleep 0.05; done`, 2 * time.Second, "1:got TERM"},
		{"killed when it ignores SIGTERM", `trap '' TERM; echo ready; while :; do sleep 0.05; done`, 2 * time.Second, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var canceled time.Time
			var mu sync.Mutex
			var lines []string
			o := Options{KillAfter: 300 * time.Millisecond, Line: func(stream int, s string) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, string(rune('0'+stream))+":"+s)
				if s == "ready" {
					canceled = time.Now()
					cancel()
				}
			}}
			err := Run(ctx, exec.Command("/bin/sh", "-c", tc.script), o)
			if !errors.Is(err, driver.ErrCanceled) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want driver.ErrCanceled", err)
			}
			if took := time.Since(canceled); took > tc.within {
				t.Errorf("Run returned %v after the cancel, want under %v", took, tc.within)
			}
			if tc.line != "" && !strings.Contains(strings.Join(lines, "|"), tc.line) {
				t.Errorf("lines %q lack %q", lines, tc.line)
			}
		})
	}
}

// A child of the CLI that keeps its output open does not hold Run up.
func TestRunDoesNotWaitForTheCLIsChildren(t *testing.T) {
	start := time.Now()
	lines, err := collect(t, context.Background(), `sleep 3 & echo done`, Options{})
	if err != nil || len(lines) != 1 || lines[0] != "1:done" {
		t.Fatalf("Run = %q, %v", lines, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Run took %v: it waited for the CLI's child", took)
	}
}

func TestRunRefusesSetOutput(t *testing.T) {
	cmd := exec.Command("/bin/true")
	cmd.Stdout = &strings.Builder{}
	if err := Run(context.Background(), cmd, Options{}); err == nil {
		t.Error("Run accepted a command whose Stdout was set")
	}
}
