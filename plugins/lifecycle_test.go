package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// children returns the pids of this process's live children.
func children(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at ')'.
		f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(os.Getpid()) {
			out = append(out, pid)
		}
	}
	return out
}

// pidOf returns the pid of the running process of a driver.
func pidOf(t testing.TB, m *Manager, name string) int {
	t.Helper()
	inst := m.current(name)
	if inst == nil {
		t.Fatalf("driver %q is not running", name)
	}
	pid, err := strconv.Atoi(inst.run.ID())
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestCrashMidBuild(t *testing.T) {
	tests := []struct {
		name  string
		args  map[string]string
		kill  bool
		lines string // expected among the crash report's lines
	}{
		{"sigkill", map[string]string{"events": "1", "sleep": "30s"}, true, "build starting"},
		{"panic", map[string]string{"events": "1", "panic": "1"}, false, "panic: echo driver panics on purpose"},
		{"exit", map[string]string{"events": "1", "exit": "7"}, false, "build starting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m := newTestManager(t, Options{})
			b, err := m.Open(ctx, testDriver)
			if err != nil {
				t.Fatal(err)
			}
			var killedAt time.Time
			var once sync.Once
			start := time.Now()
			_, err = b.Build(ctx, echoRequest(t, tc.args), driver.SinkFunc(func(*driver.Event) {
				if tc.kill {
					once.Do(func() {
						killedAt = time.Now()
						syscall.Kill(pidOf(t, m, testDriver), syscall.SIGKILL)
					})
				}
			}))
			if killedAt.IsZero() {
				killedAt = start
			}
			if took := time.Since(killedAt); took > 2*time.Second {
				t.Errorf("the build failed %v after the crash, want under 2s", took)
			}
			var crash *CrashError
			if !errors.As(err, &crash) || !errors.Is(err, driver.ErrDriverCrashed) {
				t.Fatalf("Build error = %v, want a CrashError", err)
			}
			if !strings.Contains(err.Error(), `driver "testecho" crashed`) || !strings.Contains(err.Error(), tc.lines) {
				t.Errorf("crash report lacks the driver's name or %q:\n%v", tc.lines, err)
			}
			if strings.Contains(err.Error(), "transport is closing") {
				t.Errorf("crash report shows a bare transport error: %v", err)
			}
			// The next build starts a fresh process.
			res, err := b.Build(ctx, echoRequest(t, map[string]string{"events": "3"}), nil)
			if err != nil || res.ImageID != "sha256:3" {
				t.Fatalf("build after the crash: %v, %v", res, err)
			}
		})
	}
}

func TestCancelMidBuild(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	_, err = b.Build(bctx, echoRequest(t, map[string]string{"events": "1", "sleep": "30s"}), driver.SinkFunc(func(*driver.Event) { cancel() }))
	if !errors.Is(err, driver.ErrCanceled) {
		t.Fatalf("canceled build: %v, want ErrCanceled", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("cancel took %v", took)
	}
	pid := pidOf(t, m, testDriver)
	if _, err := b.Build(ctx, echoRequest(t, nil), nil); err != nil {
		t.Fatalf("build after a cancel: %v", err)
	}
	if again := pidOf(t, m, testDriver); again != pid {
		t.Errorf("a canceled build restarted the driver (pid %d -> %d)", pid, again)
	}
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx := testCtx(t)
	m := NewManager(Options{Home: t.TempDir(), Self: testSelf(t)})
	for _, name := range []string{testDriver, testDriverLow} {
		b, err := m.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		req := echoRequest(t, map[string]string{"events": "10", "secret": "s"})
		req.Secrets = []driver.SecretSpec{{ID: "other", Env: "NOPE"}}
		if _, err := b.Build(ctx, req, nil); !errors.Is(err, driver.ErrNotFound) {
			t.Fatalf("build with an unknown secret: %v, want ErrNotFound", err)
		}
	}
	if kids := children(t); len(kids) != 2 {
		t.Errorf("children before Close: %v, want the 2 drivers", kids)
	}
	// One driver dies: its socket file stays behind unless the Manager
	// cleans up.
	syscall.Kill(pidOf(t, m, testDriverLow), syscall.SIGKILL)
	sock := m.sockDir
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Errorf("processes left after Close: %v", kids)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket folder %s left after Close (%v)", sock, err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	if _, err := m.Open(ctx, testDriver); err != nil {
		t.Fatal(err) // Open starts nothing...
	}
	b, _ := m.Open(ctx, testDriver)
	if _, err := b.Build(ctx, echoRequest(t, nil), nil); !errors.Is(err, errClosed) {
		t.Errorf("build through a closed Manager: %v", err) // ...but calls refuse
	}
}

func TestSecretsCrossThroughTheHost(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	req := echoRequest(t, map[string]string{"secret": "tok"})
	req.Secrets = []driver.SecretSpec{{ID: "tok"}}
	req.SecretSource = secretMap{"tok": "s3cr3t"}
	res, err := b.Build(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Metadata["secret"] != "s3cr3t" {
		t.Errorf("secret = %q", res.Metadata["secret"])
	}
	// Without a source, the specs are read on the host.
	t.Setenv("CB_TEST_SECRET_VALUE", "from-env")
	req.SecretSource = nil
	req.Secrets = []driver.SecretSpec{{ID: "tok", Env: "CB_TEST_SECRET_VALUE"}}
	if res, err = b.Build(ctx, req, nil); err != nil || res.Metadata["secret"] != "from-env" {
		t.Errorf("host secrets: %v, %v", res, err)
	}
	// The source's error class survives the round trip to the plugin and back.
	req.SecretSource = secretMap{}
	_, err = b.Build(ctx, req, nil)
	if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), `secret "tok" is not in this map`) {
		t.Errorf("missing secret: %v", err)
	}
}

type secretMap map[string]string

func (s secretMap) Secret(_ context.Context, id string) ([]byte, error) {
	v, ok := s[id]
	if !ok {
		return nil, fmt.Errorf("%w: secret %q is not in this map", driver.ErrNotFound, id)
	}
	return []byte(v), nil
}

func TestPluginLogsReachHostLogger(t *testing.T) {
	ctx := testCtx(t)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := newTestManager(t, Options{Logger: log})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(ctx, echoRequest(t, map[string]string{"stdout": "1"}), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`level=INFO msg="build starting" driver=testecho`,
		`msg="driver stdout" driver=testecho line="stray stdout line"`,
		`msg="driver stderr" driver=testecho line="stray stderr line"`,
	}
	// The plugin's output travels apart from the build's result (stderr,
	// go-plugin's stdio stream): it may arrive a moment after Build
	// returns, and what is still on its way when the plugin is stopped is
	// not promised. Wait for it before Close.
	deadline := time.Now().Add(5 * time.Second)
	for missing(buf.String(), want) != "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	m.Close()
	if w := missing(buf.String(), want); w != "" {
		t.Errorf("host log lacks %q:\n%s", w, buf.String())
	}
}

// missing returns the first of want that out lacks, or "".
func missing(out string, want []string) string {
	for _, w := range want {
		if !strings.Contains(out, w) {
			return w
		}
	}
	return ""
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDeadlineIsCancellation runs builds that outlive their context's
// deadline. The deadline travels to the plugin, whose end may reset the
// stream before this side's timer fires; whichever end notices first, the
// build is canceled (with the deadline as its cause), never an unclassed
// RPC error, and never a crash.
func TestDeadlineIsCancellation(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, m, testDriver)
	for i := 0; i < 20; i++ {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		start := time.Now()
		_, err := b.Build(dctx, echoRequest(t, map[string]string{"sleep": "30s"}), nil)
		cancel()
		if !errors.Is(err, driver.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrDriverCrashed) {
			t.Fatalf("build %d past its deadline: %v; want driver.ErrCanceled caused by the deadline", i, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("build %d returned %v after its deadline", i, took)
		}
	}
	if again := pidOf(t, m, testDriver); again != pid {
		t.Errorf("a deadline restarted the driver (pid %d -> %d)", pid, again)
	}
}

// TestPanicReport: a driver that panics shows its trace once, in the
// error (not also as ERROR lines in the log at the default level), and,
// when it panics in Build's own goroutine, every event it sent before
// reaches the sink.
func TestPanicReport(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   map[string]string
		events int // events that must arrive; -1: no promise
		panic  string
	}{
		{"in Build", map[string]string{"events": "500", "panic": "1"}, 500, "panic: echo driver panics on purpose"},
		{"in a goroutine", map[string]string{"events": "5", "panic": "goroutine"}, -1, "panic: echo driver panics on purpose in a goroutine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			var log syncBuffer
			m := newTestManager(t, Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
			b, err := m.Open(ctx, testDriver)
			if err != nil {
				t.Fatal(err)
			}
			var got int
			_, err = b.Build(ctx, echoRequest(t, tc.args), driver.SinkFunc(func(ev *driver.Event) { got += len(ev.Logs) }))
			var crash *CrashError
			if !errors.As(err, &crash) {
				t.Fatalf("Build = %v, want a CrashError", err)
			}
			if n := strings.Count(err.Error(), tc.panic); n != 1 {
				t.Errorf("the error shows the panic %d times, want once:\n%v", n, err)
			}
			if !strings.Contains(err.Error(), "goroutine ") {
				t.Errorf("the error lacks the panic's trace:\n%v", err)
			}
			if strings.Contains(log.String(), "panic:") || strings.Contains(log.String(), "goroutine ") {
				t.Errorf("the trace is also in the log at the default level:\n%s", log.String())
			}
			if tc.events >= 0 && got != tc.events {
				t.Errorf("%d of the %d events sent before the panic reached the sink", got, tc.events)
			}
			// The next build starts a fresh process.
			if _, err := b.Build(ctx, echoRequest(t, nil), nil); err != nil {
				t.Fatalf("build after the panic: %v", err)
			}
		})
	}
}
