package sdktest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/sdktest"
)

// tiny is the smallest well-behaved driver: it validates, reports and
// "builds" by counting the tags.
type tiny struct{ log *slog.Logger }

func (tiny) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "tiny", Version: "0.0.1"}, nil
}
func (tiny) Check(context.Context) error { return nil }
func (d tiny) Build(_ context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	d.log.Info("tiny builds", "tags", len(req.Tags))
	if sink != nil {
		sink.Send(&driver.Event{Logs: []driver.Log{{Data: []byte("building")}}})
	}
	return &driver.Result{ImageID: fmt.Sprintf("sha256:%d", len(req.Tags)), Tags: req.Tags}, nil
}

var tinyPlugin = sdk.Plugin{
	Name: "tiny", Version: "0.0.1", Usage: "a test plugin", Priority: sdk.Priority(5),
	New: func(_ context.Context, cfg driver.Config) (driver.Builder, error) { return tiny{log: cfg.Log()}, nil },
}

// The test binary is also the plugin binary Start installs. Run by a
// claude-bottle host it has the handshake cookie, not SDKTEST_SERVE_TINY
// (a plugin gets an allow-listed environment); run by hand, the variable.
func TestMain(m *testing.M) {
	if os.Getenv("SDKTEST_SERVE_TINY") == "1" || os.Getenv(sdk.Handshake.MagicCookieKey) != "" {
		sdk.Serve(tinyPlugin)
	}
	os.Exit(m.Run())
}

func request(t *testing.T) driver.Request {
	dir := t.TempDir()
	os.WriteFile(dir+"/Dockerfile", []byte("FROM scratch\n"), 0o644)
	return driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir, Tags: []string{"a", "b"}}
}

func TestInProcess(t *testing.T) {
	b := sdktest.InProcess(t, tinyPlugin, driver.Config{})
	var logs int
	res, err := b.Build(context.Background(), request(t), driver.SinkFunc(func(ev *driver.Event) { logs += len(ev.Logs) }))
	if err != nil || res.ImageID != "sha256:2" || logs != 1 {
		t.Fatalf("Build = %+v, %v (%d logs)", res, err, logs)
	}
	_, err = b.Build(context.Background(), driver.Request{Dockerfile: "x"}, nil)
	if !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("invalid request error lost its class: %v", err)
	}
}

func TestStartInstallsAndRunsTheBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SDKTEST_SERVE_TINY", "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	host, b := sdktest.Start(t, self, driver.Config{})
	if host.Description.Name != "tiny" || host.Description.Priority == nil || *host.Description.Priority != 5 {
		t.Errorf("installed description = %+v", host.Description)
	}
	if res, err := b.Build(context.Background(), request(t), nil); err != nil || res.ImageID != "sha256:2" {
		t.Fatalf("Build = %+v, %v", res, err)
	}
}

// TestInProcessLogsToTheLogger: the driver's logs reach cfg.Logger, and
// nothing logs through it once the test has ended, even with a logger
// that writes to t.Log (which panics when called after its test ended).
func TestInProcessLogsToTheLogger(t *testing.T) {
	for i := 0; i < 20; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var buf lockedBuffer
			log := slog.New(slog.NewTextHandler(&tLogWriter{t: t, also: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			b := sdktest.InProcess(t, tinyPlugin, driver.Config{Logger: log})
			if _, err := b.Build(context.Background(), request(t), nil); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), "tiny builds") {
				t.Errorf("the driver's log line did not reach cfg.Logger:\n%s", buf.String())
			}
		})
	}
}

// tLogWriter writes through t.Log, as a test's logger does.
type tLogWriter struct {
	t    *testing.T
	also *lockedBuffer
}

func (w *tLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return w.also.Write(p)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStartLogsToTheLogger is TestInProcessLogsToTheLogger for Start: the
// plugin's logs reach cfg.Logger, and nothing logs through it after the
// test.
func TestStartLogsToTheLogger(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SDKTEST_SERVE_TINY", "1")
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	for i := 0; i < 8; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var buf lockedBuffer
			log := slog.New(slog.NewTextHandler(&tLogWriter{t: t, also: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			// The plugin's lines come over its stderr, apart from the
			// build's result: all have arrived once the host has stopped
			// (Start's cleanup, which runs before this one).
			t.Cleanup(func() {
				if !strings.Contains(buf.String(), "tiny builds") {
					t.Errorf("the driver's log line did not reach cfg.Logger:\n%s", buf.String())
				}
			})
			_, b := sdktest.Start(t, self, driver.Config{Logger: log})
			if _, err := b.Build(context.Background(), request(t), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBuildPluginThenStart builds a plugin from source, as a driver's own
// test does, and runs it through a real host.
func TestBuildPluginThenStart(t *testing.T) {
	bin := sdktest.BuildPlugin(t, "./testdata/tinyplugin")
	host, b := sdktest.Start(t, bin, driver.Config{})
	if host.Name != "tinyplugin" || host.Description.Version != "0.0.2" || host.Description.Protocol != sdk.ProtocolVersion {
		t.Errorf("host = %+v", host)
	}
	res, err := b.Build(context.Background(), request(t), nil)
	if err != nil || res.ImageID != fmt.Sprintf("sha256:%064d", 2) {
		t.Fatalf("Build = %+v, %v", res, err)
	}
}
