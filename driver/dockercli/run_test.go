package dockercli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// fakeDocker writes a shell script standing in for docker, to test how run
// stops a process: the real CLI's handling is tested in integration/.
func fakeDocker(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunStopsOnCancel(t *testing.T) {
	tests := []struct {
		name, script string
		maxWait      time.Duration
	}{
		// Like docker: SIGINT ends it at once.
		{name: "exits on SIGINT", script: "echo started\nexec sleep 30\n", maxWait: time.Second},
		// A process that ignores SIGINT, with a child in its group, is
		// killed after the grace.
		{name: "ignores SIGINT", script: "trap '' INT\necho started\nsleep 30 &\nwait\n", maxWait: 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := fakeDocker(t, tc.script)
			tl := newTail(5)
			started := make(chan struct{})
			var once bool
			sink := driver.SinkFunc(func(*driver.Event) {})
			pr := newProgress(lineFunc(func(s string) {
				if s == "started" && !once {
					once = true
					close(started)
				}
			}), tl, sink)
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() { errc <- run(ctx, bin, nil, os.Environ(), nil, pr, 500*time.Millisecond) }()
			<-started
			cancel()
			begin := time.Now()
			select {
			case err := <-errc:
				if err == nil {
					t.Error("run returned nil for a killed process")
				}
			case <-time.After(tc.maxWait):
				t.Fatalf("run still waiting %v after cancel", tc.maxWait)
			}
			t.Logf("returned %v after cancel", time.Since(begin).Round(time.Millisecond))
		})
	}
}

func TestRunPassesEnvAndOutput(t *testing.T) {
	bin := fakeDocker(t, `echo "arg=$1 var=$CLAUDE_BOTTLE_SECRET_0"; echo oops >&2; exit 3`+"\n")
	tl := newTail(5)
	var lines []string
	pr := newProgress(lineFunc(func(s string) { lines = append(lines, s) }), tl, driver.Discard)
	err := run(context.Background(), bin, []string{"build"}, []string{"CLAUDE_BOTTLE_SECRET_0=v"}, nil, pr, time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("err = %v, want exit status 3", err)
	}
	joined := strings.Join(lines, "|")
	if !strings.Contains(joined, "arg=build var=v") || !strings.Contains(joined, "oops") {
		t.Errorf("lines = %q", lines)
	}
}

// lineFunc is a lineParser that hands each line to a function.
type lineFunc func(string)

func (f lineFunc) line(_ int, s string, _ time.Time) *driver.Event { f(s); return nil }
func (f lineFunc) end(bool, time.Time) *driver.Event               { return nil }
func (f lineFunc) failedStep() string                              { return "" }
func (f lineFunc) stepStarted() bool                               { return false }
