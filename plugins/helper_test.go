package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

// The test binary doubles as every plugin the tests need (go-plugin's
// TestHelperProcess style): run as `plugins.test __driver-serve NAME` it
// serves a test driver as a built-in; run with CB_TEST_PLUGIN=MODE (from a
// wrapper script in a plugins folder) it behaves as a third-party plugin.
func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == BuiltinArg {
		if err := sdk.ServeBuiltin(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv("CB_TEST_PLUGIN"); mode != "" {
		os.Exit(servePluginMode(mode))
	}
	// A plugin sees no CB_TEST_PLUGIN (see PluginEnv): a copy of the test
	// binary installed as the bench plugin serves by its name instead.
	if filepath.Base(os.Args[0]) == BinaryName("bench") {
		os.Exit(servePluginMode("echo"))
	}
	if dir := os.Getenv("CB_TEST_HOST_DIES_IN"); dir != "" {
		hostDies(dir)
	}
	// Under -race, a Go process sleeps 1 s on exit by default; the
	// re-executed drivers inherit this and exit at once.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

const (
	testDriver     = "testecho"
	testDriverLow  = "testlow"
	testPriority   = 1000
	testPriorityLo = 999
)

func init() {
	driver.Register(driver.Factory{Name: testDriver, Usage: "test driver that echoes", Priority: testPriority, New: newEcho})
	driver.Register(driver.Factory{Name: testDriverLow, Usage: "lower test driver", Priority: testPriorityLo, New: newEcho})
}

// servePluginMode serves (or fails to serve) as a third-party plugin.
func servePluginMode(mode string) int {
	p := sdk.Plugin{Name: "echo3p", Version: "3.1.4", Usage: "third-party echo", New: newEcho}
	switch mode {
	case "echo":
	case "prio":
		v := testPriority + 1
		p.Priority = &v
	case "stdout-junk":
		fmt.Println("hello from init, this is not a handshake")
		fmt.Print("no newline either|")
	case "v2":
		srv := func(*plugin.GRPCBroker) pb.DriverServer { return pb.UnimplementedDriverServer{} }
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  wire.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{2: wire.ServePlugins(srv)[wire.ProtocolVersion]},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		return 0
	case "not-a-plugin":
		fmt.Println("usage: frobnicate [flags]")
		fmt.Fprintln(os.Stderr, "frobnicate: missing operand")
		return 2
	case "hang":
		time.Sleep(time.Minute)
		return 0
	default:
		fmt.Fprintln(os.Stderr, "unknown CB_TEST_PLUGIN mode", mode)
		return 2
	}
	sdk.Serve(p) // exits
	return 0
}

// echo is the test driver. Its Build is steered by build args:
//
//	events=N   send N small events
//	sleep=D    sleep D (a duration) after the events, honouring ctx
//	panic=1    panic mid-build (panic=goroutine: in a goroutine of its own)
//	exit=N     exit the process with code N mid-build
//	fail=CLASS fail with that driver error class
//	secret=ID  put the value of secret ID into the result's metadata
//	stdout=1   write to the real stdout and stderr mid-build
//	environ=1  put the process's environment into the result's metadata
//	child=FILE start a `sleep 300` child, write its pid to FILE
type echo struct{ cfg driver.Config }

func newEcho(_ context.Context, cfg driver.Config) (driver.Builder, error) {
	if cfg.Opts["new"] == "fail" {
		return nil, fmt.Errorf("%w: option new=fail", driver.ErrInvalidRequest)
	}
	return &echo{cfg: cfg}, nil
}

func (e *echo) Info(context.Context) (driver.Info, error) {
	return driver.Info{
		Name: "echo", Version: "1.2.3", Endpoint: "nowhere",
		Features: map[driver.Feature]bool{driver.FeatureSecrets: true, driver.FeatureSSH: false},
		Notes:    []string{"a test driver"},
	}, nil
}

func (e *echo) Check(context.Context) error {
	if e.cfg.Opts["check"] == "fail" {
		return fmt.Errorf("%w: the echo daemon is on holiday; come back later", driver.ErrDaemonUnreachable)
	}
	return nil
}

var testClasses = map[string]error{
	"daemon": driver.ErrDaemonUnreachable, "dockerfile": driver.ErrInvalidDockerfile,
	"request": driver.ErrInvalidRequest, "unsupported": driver.ErrUnsupported,
	"canceled": driver.ErrCanceled, "build": driver.ErrBuildFailed, "notfound": driver.ErrNotFound,
}

func (e *echo) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	a := req.BuildArgs
	e.cfg.Log().Info("build starting", "tags", len(req.Tags))
	n, _ := strconv.Atoi(a["events"])
	now := time.Now()
	for i := 0; i < n; i++ {
		sink.Send(&driver.Event{Logs: []driver.Log{{Vertex: "v", Stream: 1, Data: []byte("line"), Timestamp: now}}})
	}
	if p := a["child"]; p != "" { // start a child that outlives nothing; its pid goes to file p
		child := exec.Command("sleep", "300")
		if err := child.Start(); err != nil {
			return nil, err
		}
		os.WriteFile(p, []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		sink.Send(&driver.Event{Logs: []driver.Log{{Vertex: "v", Data: []byte("child started")}}})
	}
	if a["stdout"] == "1" {
		os.Stdout.WriteString("stray stdout line\n")
		os.Stderr.WriteString("stray stderr line\n")
	}
	switch a["panic"] {
	case "1":
		e.cfg.Log().Error("about to panic")
		panic("echo driver panics on purpose")
	case "goroutine": // where no one can recover it
		go panic("echo driver panics on purpose in a goroutine")
		<-ctx.Done()
	}
	if c, err := strconv.Atoi(a["exit"]); err == nil {
		os.Exit(c)
	}
	if d, err := time.ParseDuration(a["sleep"]); err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil, driver.Canceled(ctx, ctx.Err())
		}
	}
	if c := a["fail"]; c != "" {
		return nil, fmt.Errorf("echo: step 2 said %q: %w", "no", testClasses[c])
	}
	res := &driver.Result{ImageID: "sha256:" + fmt.Sprint(n), Tags: req.Tags, Steps: driver.StepCount{Total: 3, Cached: 1},
		Duration: 1500 * time.Millisecond, Metadata: map[string]string{"dockerfile": req.Dockerfile, "opt": e.cfg.Opts["x"]}}
	if a["environ"] == "1" {
		res.Metadata["environ"] = strings.Join(os.Environ(), "\n")
	}
	if id := a["secret"]; id != "" {
		if req.SecretSource == nil {
			return nil, errors.New("no secret source")
		}
		v, err := req.SecretSource.Secret(ctx, id)
		if err != nil {
			return nil, err
		}
		res.Metadata["secret"] = string(v)
	}
	return res, nil
}

// testSelf is the test binary, which serves the test drivers as built-ins.
func testSelf(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newTestManager returns a Manager over a fresh state root; it is closed
// when t ends.
func newTestManager(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.Home == "" {
		opts.Home = t.TempDir()
	}
	opts.Self = testSelf(t)
	m := NewManager(opts)
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// installScript puts a wrapper script into m's plugins folder that runs
// the test binary in plugin mode, and records its checksum as Install
// would, without probing it (some modes are broken on purpose).
func installScript(t testing.TB, m *Manager, name, mode string) string {
	t.Helper()
	dir, err := m.ensurePluginsDir()
	if err != nil {
		t.Fatal(err)
	}
	p := writeScript(t, dir, BinaryName(name), mode)
	sum, err := fileSum(p)
	if err != nil {
		t.Fatal(err)
	}
	lock, err := readLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock.Plugins[name] = lockEntry{SHA256: sum, Source: "test", Installed: time.Now().UTC()}
	if err := writeLock(dir, lock); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeScript(t testing.TB, dir, file, mode string) string {
	t.Helper()
	p := filepath.Join(dir, file)
	script := fmt.Sprintf("#!/bin/sh\nCB_TEST_PLUGIN=%s exec %q \"$@\"\n", mode, testSelf(t))
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// hostDies is a host that starts both test drivers, with its drivers
// folder in dir, and then dies of a panic no one recovers, as a test
// binary or a CLI killed by SIGPIPE does: no Close runs.
func hostDies(dir string) {
	m := NewManager(Options{TempDir: dir})
	ctx := context.Background()
	for _, name := range []string{testDriver, testDriverLow} {
		b, err := m.Open(ctx, name)
		if err == nil {
			err = b.Check(ctx)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// A build is running, with a child of the driver's, when the host dies.
	b, _ := m.Open(ctx, testDriver)
	req := driver.Request{Dockerfile: dir, ContextDir: dir, BuildArgs: map[string]string{"child": filepath.Join(dir, "child.pid"), "sleep": "60s"}}
	b.Build(ctx, req, driver.SinkFunc(func(*driver.Event) {
		go func() { panic("the host panics on purpose") }()
	}))
	select {}
}
