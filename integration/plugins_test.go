package integration

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// The driver plugin tests (issue 5): the example buildah plugin and a
// misbehaving test plugin, built from source, installed with the real
// claude-bottle binary and run through the same plugins.Manager the CLI
// uses (in this process where a test must see inside a build: crash and
// secrets), against the real Docker engine.

var (
	pluginBinsOnce sync.Once
	pluginBinsDir  string
	pluginBinsErr  error
)

// pluginBinary builds (once per test binary) the plugin at
// plugins/examples/buildah (its own module) or plugins/internal/testplugin
// and returns its path, named claude-bottle-driver-NAME.
func pluginBinary(t *testing.T, name string) string {
	t.Helper()
	pluginBinsOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			pluginBinsErr = err
			return
		}
		dir, err := os.MkdirTemp("", "cb-plugin-bins-")
		if err != nil {
			pluginBinsErr = err
			return
		}
		testenv.AtExit(func() { os.RemoveAll(dir) })
		// The example is a module of its own, as an outside driver is.
		for bin, src := range map[string][2]string{
			"buildah":    {"plugins/examples/buildah", "."},
			"testplugin": {".", "./plugins/internal/testplugin"},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			// Stripped, as a plugin is shipped: the checksum check at every
			// start reads the whole binary.
			pkg := src[1]
			cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-s -w", "-o", filepath.Join(dir, plugins.BinaryName(bin)), pkg)
			cmd.Dir = filepath.Join(root, src[0])
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				pluginBinsErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
		pluginBinsDir = dir
	})
	if pluginBinsErr != nil {
		t.Fatal(pluginBinsErr)
	}
	return filepath.Join(pluginBinsDir, plugins.BinaryName(name))
}

func requireBuildah(t *testing.T) {
	t.Helper()
	testenv.RequireDocker(t)
	if _, err := exec.LookPath("buildah"); err != nil {
		testenv.Unavailable(t, "buildah is not installed (apt-get install buildah)")
	}
}

// buildahStorage is one buildah storage root shared by the tests, so a
// layer built once is cached for the rest.
var (
	buildahStorageOnce sync.Once
	buildahStorageDir  string
)

func buildahOpts(t *testing.T) map[string]string {
	buildahStorageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cb-buildah-")
		if err != nil {
			t.Fatal(err)
		}
		testenv.AtExit(func() { os.RemoveAll(dir) })
		buildahStorageDir = dir
	})
	return map[string]string{"root": filepath.Join(buildahStorageDir, "storage"), "runroot": filepath.Join(buildahStorageDir, "run")}
}

// pcli runs the claude-bottle binary against one state root, watching for
// processes and sockets it leaves behind.
type pcli struct {
	t    *testing.T
	bin  string
	home string
	leak *testenv.LeakCheck
	env  []string
	// lastList is what the last drivers call listed.
	lastList driverList
}

func newPCLI(t *testing.T) *pcli {
	t.Helper()
	c := &pcli{t: t, bin: testenv.ClaudeBottle(t), home: filepath.Join(t.TempDir(), "home"), leak: testenv.NewLeakCheck(t)}
	c.env = append([]string{
		"CLAUDE_BOTTLE_HOME=" + c.home, "CLAUDE_BOTTLE_DRIVER=", "CLAUDE_BOTTLE_IN_PROCESS=",
		"BUILDKIT_HOST=", "DOCKER_HOST=", "CB_TESTPLUGIN_MODE=",
	}, c.leak.Env()...)
	return c
}

// must runs a command, fails the test unless it exits with code, and
// checks that it left no process or socket behind.
func (c *pcli) must(code int, args ...string) testenv.Result {
	c.t.Helper()
	res := testenv.Run(c.t, 2*time.Minute, c.env, c.bin, args...)
	if res.ExitCode != code {
		c.t.Fatalf("claude-bottle %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, code, res.Stdout, res.Stderr)
	}
	c.leak.Check(c.t, 3*time.Second)
	return res
}

// driverList is `claude-bottle drivers --format json`.
type driverList []struct {
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	BuiltIn    bool     `json:"built_in"`
	Verified   bool     `json:"verified"`
	Version    string   `json:"version"`
	Protocol   int      `json:"protocol"`
	Features   []string `json:"features"`
	Ready      bool     `json:"ready"`
	Default    bool     `json:"default"`
	Error      string   `json:"error"`
	CheckError string   `json:"check_error"`
}

func (c *pcli) drivers(args ...string) map[string]int {
	c.t.Helper()
	res := c.must(0, append([]string{"drivers", "--format", "json"}, args...)...)
	var list driverList
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		c.t.Fatalf("drivers --format json: %v\n%s", err, res.Stdout)
	}
	idx := map[string]int{}
	for i, d := range list {
		idx[d.Name] = i
	}
	c.lastList = list
	return idx
}

func TestPluginInstallAndList(t *testing.T) {
	requireBuildah(t)
	c := newPCLI(t)
	src := pluginBinary(t, "buildah")
	res := c.must(0, "plugin", "install", src)
	if !strings.Contains(res.Stdout, `installed driver plugin "buildah" (buildah 0.1.0, protocol 1)`) {
		t.Errorf("plugin install said:\n%s", res.Stdout)
	}
	fi, err := os.Stat(filepath.Join(c.home, "plugins"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("plugins folder: %v, %v", fi, err)
	}
	var installed []struct {
		Name string `json:"name"`
		OK   bool   `json:"ok"`
	}
	json.Unmarshal([]byte(c.must(0, "plugin", "list", "--format", "json").Stdout), &installed)
	if len(installed) != 1 || installed[0].Name != "buildah" || !installed[0].OK {
		t.Errorf("plugin list = %+v", installed)
	}

	idx := c.drivers()
	list := c.lastList
	for _, name := range []string{"buildkit", "docker", "buildah"} {
		if _, ok := idx[name]; !ok {
			t.Fatalf("drivers lacks %q: %+v", name, list)
		}
	}
	bh := list[idx["buildah"]]
	if bh.BuiltIn || !bh.Verified || bh.Source != plugins.SourceInstalled || bh.Version != "0.1.0" || bh.Protocol != 1 || !bh.Ready ||
		!strings.Contains(strings.Join(bh.Features, ","), "docker-load") {
		t.Errorf("buildah = %+v", bh)
	}
	bk := list[idx["buildkit"]]
	if !bk.BuiltIn || bk.Protocol != 1 || !bk.Ready || !bk.Default || bh.Default {
		t.Errorf("buildkit = %+v (built-ins rank above a plugin without a priority)", bk)
	}
	text := c.must(0, "drivers").Stdout
	if !strings.Contains(text, filepath.Join(c.home, "plugins", "claude-bottle-driver-buildah")) || !strings.Contains(text, "ready (default)") {
		t.Errorf("drivers:\n%s", text)
	}

	c.must(0, "plugin", "remove", "buildah")
	if _, ok := c.drivers()["buildah"]; ok {
		t.Error("a removed plugin is still listed")
	}
}

// host is a plugins.Manager in this process, as the CLI makes it, over a
// state root with the buildah plugin installed.
func buildahHost(t *testing.T) (*plugins.Manager, driver.Builder, *testenv.LeakCheck) {
	t.Helper()
	requireBuildah(t)
	c := newPCLI(t)
	c.must(0, "plugin", "install", pluginBinary(t, "buildah"))
	opts := buildahOpts(t) // before TMPDIR changes: the storage is shared
	// The plugin and everything it starts inherit the tag; the sockets
	// go to the watched TMPDIR.
	t.Setenv(testenv.LeakTagEnv, c.leak.Tag)
	t.Setenv("TMPDIR", c.leak.TmpDir)
	m := plugins.NewManager(plugins.Options{Home: c.home, Self: c.bin, Config: driver.Config{Opts: opts}})
	t.Cleanup(func() { m.Close() })
	b, err := m.Open(context.Background(), "buildah")
	if err != nil {
		t.Fatal(err)
	}
	return m, b, c.leak
}

func TestPluginBuildsIntoEngine(t *testing.T) {
	m, b, leak := buildahHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag := "cb-plugin-test-" + fmt.Sprint(time.Now().UnixNano()) + ":latest"
	testenv.RemoveImages(t, tag)
	dir := testenv.BusyboxContext(t, map[string]string{
		"Dockerfile": testenv.BusyboxDockerfile +
			"RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = s3cret && echo secret-ok\n" +
			"COPY hello /hello\n",
		"hello": "hello from buildah\n",
	})
	req := driver.Request{
		Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{tag},
		Secrets: []driver.SecretSpec{{ID: "tok"}}, SecretSource: secrets{"tok": "s3cret"},
	}
	var mu sync.Mutex
	var vertexes, logs []string
	sink := driver.SinkFunc(func(ev *driver.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, v := range ev.Vertexes {
			vertexes = append(vertexes, v.Name)
		}
		for _, l := range ev.Logs {
			logs = append(logs, string(l.Data))
		}
	})
	res, err := b.Build(ctx, req, sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := testenv.Docker(t, "image", "inspect", "--format", "{{.Id}}", tag); got != res.ImageID {
		t.Errorf("engine has %s as %s, the plugin said %s", tag, got, res.ImageID)
	}
	if out := testenv.RunImage(t, tag, "cat", "/hello"); out != "hello from buildah" {
		t.Errorf("image content = %q", out)
	}
	if !strings.Contains(strings.Join(logs, ""), "secret-ok") || !strings.Contains(strings.Join(vertexes, "|"), "loading into the Docker engine") {
		t.Errorf("progress lacks the secret step's output or the load step:\nvertexes %q\nlogs %q", vertexes, logs)
	}
	if res.Steps.Total < 5 {
		t.Errorf("steps = %+v", res.Steps)
	}
	// Again: every step cached, the same image, tagged without a reload.
	res2, err := b.Build(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res2.ImageID != res.ImageID || res2.Steps.Cached < 3 {
		t.Errorf("rebuild: %+v, first %+v", res2, res)
	}
	// A secret the host cannot give fails the build with its class.
	req.SecretSource = secrets{}
	if _, err := b.Build(ctx, req, nil); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("build with a missing secret: %v, want ErrNotFound", err)
	}
	// A failing step is a build failure naming it.
	bad := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile + "RUN exit 3\n"})
	_, err = b.Build(ctx, driver.Request{Dockerfile: filepath.Join(bad, "Dockerfile"), ContextDir: bad, Tags: []string{tag}}, nil)
	if !errors.Is(err, driver.ErrBuildFailed) || !strings.Contains(err.Error(), "RUN exit 3") {
		t.Errorf("failing build: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	leak.Check(t, 3*time.Second)
}

type secrets map[string]string

func (s secrets) Secret(_ context.Context, id string) ([]byte, error) {
	if v, ok := s[id]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%w: no secret %q here", driver.ErrNotFound, id)
}

func TestPluginCrashMidBuild(t *testing.T) {
	m, b, leak := buildahHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := testenv.BusyboxContext(t, map[string]string{
		"Dockerfile": testenv.BusyboxDockerfile + "RUN sleep 60\n",
	})
	req := driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{"cb-plugin-crash:never"}, NoLoad: true}
	var (
		once     sync.Once
		killedAt time.Time
		killErr  error
	)
	sink := driver.SinkFunc(func(ev *driver.Event) {
		for _, v := range ev.Vertexes {
			if strings.Contains(v.Name, "sleep 60") && v.Completed == nil {
				once.Do(func() { killedAt, killErr = time.Now(), killPlugin(leak, "claude-bottle-driver-buildah") })
			}
		}
	})
	_, err := b.Build(ctx, req, sink)
	if killedAt.IsZero() || killErr != nil {
		t.Fatalf("the plugin was not killed mid-build (%v); build returned %v", killErr, err)
	}
	if took := time.Since(killedAt); took > 2*time.Second {
		t.Errorf("the build failed %v after the plugin was killed, want under 2s", took)
	}
	var crash *plugins.CrashError
	if !errors.As(err, &crash) || !errors.Is(err, driver.ErrDriverCrashed) || !strings.Contains(err.Error(), `driver "buildah" crashed`) {
		t.Fatalf("build error = %v, want driver \"buildah\" crashed", err)
	}
	if strings.Contains(err.Error(), "transport is closing") {
		t.Errorf("bare transport error: %v", err)
	}
	// The next build starts a fresh plugin (and buildah waits for the
	// killed one's storage locks, which died with it).
	ok := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile})
	if _, err := b.Build(ctx, driver.Request{Dockerfile: filepath.Join(ok, "Dockerfile"), ContextDir: ok, NoLoad: true}, nil); err != nil {
		t.Fatalf("build after the crash: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// The killed plugin's buildah and its `sleep 60` went with it.
	leak.Check(t, 3*time.Second)
}

// TestPluginCancelMidBuild cancels a build (a Ctrl-C) while buildah runs a
// step: the build ends at once as canceled, and closing the host leaves no
// plugin, buildah or step process and no file behind.
func TestPluginCancelMidBuild(t *testing.T) {
	m, b, leak := buildahHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile + "RUN sleep 61\n"})
	bctx, stop := context.WithCancel(ctx)
	var canceledAt time.Time
	var once sync.Once
	sink := driver.SinkFunc(func(ev *driver.Event) {
		for _, v := range ev.Vertexes {
			if strings.Contains(v.Name, "sleep 61") && v.Completed == nil {
				once.Do(func() { canceledAt = time.Now(); stop() })
			}
		}
	})
	_, err := b.Build(bctx, driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, NoLoad: true}, sink)
	if canceledAt.IsZero() || !errors.Is(err, driver.ErrCanceled) {
		t.Fatalf("build = %v, want ErrCanceled after the step started", err)
	}
	if took := time.Since(canceledAt); took > 2*time.Second {
		t.Errorf("the canceled build returned after %v", took)
	}
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}
	leak.Check(t, 3*time.Second)
}

// killPlugin SIGKILLs the tagged process running bin.
func killPlugin(l *testenv.LeakCheck, bin string) error {
	procs, err := l.Processes()
	if err != nil {
		return err
	}
	for _, p := range procs {
		if p.PPID == os.Getpid() && strings.Contains(p.Cmdline, bin) {
			return syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	return fmt.Errorf("no process runs %s among %v", bin, procs)
}

func TestPluginRefusals(t *testing.T) {
	testenv.RequireDocker(t)
	c := newPCLI(t)
	tp := pluginBinary(t, "testplugin")

	// Another protocol version: refused at install, naming the file and
	// the versions this claude-bottle speaks.
	c.env = append(c.env, "CB_TESTPLUGIN_MODE=v2")
	res := c.must(2, "plugin", "install", tp)
	for _, want := range []string{tp, "speaks driver protocol version 2", "this claude-bottle speaks version 1"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("wrong-protocol install: stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	// Not a plugin at all.
	res = c.must(2, "plugin", "install", "/bin/true")
	if !strings.Contains(res.Stderr, "/bin/true is not a claude-bottle driver plugin") {
		t.Errorf("non-plugin install: %s", res.Stderr)
	}

	// Stray stdout before the handshake does not break it.
	c.env = append(c.env, "CB_TESTPLUGIN_MODE=stdout-junk")
	c.must(0, "plugin", "install", tp)
	idx := c.drivers("--driver", "testplugin")
	if d := c.lastList[idx["testplugin"]]; !d.Ready {
		t.Errorf("testplugin with stray stdout: %+v", d)
	}

	// A binary changed after install is refused without being run.
	installed := filepath.Join(c.home, "plugins", plugins.BinaryName("testplugin"))
	marker := filepath.Join(t.TempDir(), "ran")
	if err := os.WriteFile(installed, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	idx = c.drivers("--driver", "testplugin")
	d := c.lastList[idx["testplugin"]]
	if d.Ready || !strings.Contains(d.Error, "has changed since it was installed") || !strings.Contains(d.Error, installed) {
		t.Errorf("tampered plugin: %+v", d)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the tampered plugin ran")
	}
	res = c.must(2, "plugin", "list")
	if !strings.Contains(res.Stdout, "refused: driver plugin checksum mismatch") || !strings.Contains(res.Stderr, `plugin "testplugin" is refused`) {
		t.Errorf("plugin list:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	}

	// An unsafe plugins folder refuses every plugin in it.
	c.must(0, "plugin", "install", tp, "--name", "again")
	os.Chmod(filepath.Join(c.home, "plugins"), 0o777)
	idx = c.drivers("--driver", "again")
	if d := c.lastList[idx["again"]]; d.Ready || !strings.Contains(d.Error, "writable by other users") {
		t.Errorf("plugin in a world-writable folder: %+v", d)
	}
}

// TestPluginStartTime times a warm start (exec, handshake, protocol
// negotiation, Configure) of the claude-bottle binary serving a built-in
// and of the installed example plugin, whose start includes the SHA-256
// check of its binary. The budget of issue 5 is 15 ms median on an idle
// machine, which the test logs (go test -v -run TestPluginStartTime); its
// bound is loose so that a loaded CI machine does not fail it, while a
// start that waits on something (a sleep, a timeout) still does.
func TestPluginStartTime(t *testing.T) {
	requireBuildah(t)
	c := newPCLI(t)
	c.must(0, "plugin", "install", pluginBinary(t, "buildah"))
	t.Setenv("TMPDIR", c.leak.TmpDir)
	for _, name := range []string{"docker", "buildah"} {
		median, spread := startTimes(t, c, name, 11)
		t.Logf("%s: start + handshake + Configure: median %v (%s)", name, median, spread)
		if name == "buildah" {
			t.Logf("buildah: of which the SHA-256 of its binary: %v", hashTime(t, filepath.Join(c.home, "plugins", plugins.BinaryName(name))))
		}
		if median > 100*time.Millisecond {
			t.Errorf("%s: median start %v, want well under 100ms (15ms on an idle machine)", name, median)
		}
	}
	c.leak.Check(t, 3*time.Second)
}

// hashTime is the median time to SHA-256 the file at p.
func hashTime(t *testing.T, p string) time.Duration {
	var times []time.Duration
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, f)
		f.Close()
		h.Sum(nil)
		times = append(times, time.Since(t0))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[2]
}

// startTimes starts driver name n times, each in a fresh Manager, and
// returns the median time and a note of the spread.
func startTimes(t *testing.T, c *pcli, name string, n int) (time.Duration, string) {
	t.Helper()
	var times []time.Duration
	for i := 0; i < n; i++ {
		m := plugins.NewManager(plugins.Options{Home: c.home, Self: c.bin})
		if _, err := m.Drivers(context.Background()); err != nil { // discovery, not timed
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := m.Start(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(t0))
		m.Close()
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[n/2], fmt.Sprintf("min %v, max %v", times[0], times[n-1])
}

// TestPluginsSIGPIPE runs `claude-bottle drivers | head -0`, as it were:
// its stdout is a pipe nobody reads, so its first write kills it with
// SIGPIPE before it can stop its drivers. They notice, exit, and leave
// no process and no drivers folder behind.
func TestPluginsSIGPIPE(t *testing.T) {
	c := newPCLI(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := exec.Command(c.bin, "drivers")
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout = w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	w.Close()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
		t.Fatalf("claude-bottle drivers did not die of SIGPIPE (%v); stderr:\n%s", err, stderr.String())
	}
	c.leak.Check(t, 3*time.Second)
}

// TestPluginInstallForceAndUpgrade is a plugin author's loop: install,
// rebuild, then replace the installed copy in one step, with --force or
// with upgrade, which knows where the plugin came from; plugin list says
// when the file it came from has changed.
func TestPluginInstallForceAndUpgrade(t *testing.T) {
	c := newPCLI(t)
	src := filepath.Join(t.TempDir(), plugins.BinaryName("tp"))
	copyFile(t, pluginBinary(t, "testplugin"), src, 0o755)
	c.must(0, "plugin", "install", src)
	res := c.must(2, "plugin", "install", src)
	for _, want := range []string{`"tp" is installed (from ` + src + `)`, "plugin install --force", "plugin upgrade tp"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("a second install: stderr lacks %q:\n%s", want, res.Stderr)
		}
	}
	c.must(0, "plugin", "install", src, "--force")
	// The author rebuilds the plugin.
	f, err := os.OpenFile(src, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x00a new build"))
	f.Close()
	if out := c.must(0, "plugin", "list").Stdout; !strings.Contains(out, "FROM has changed since (install it with claude-bottle plugin upgrade tp)") {
		t.Errorf("plugin list after a rebuild:\n%s", out)
	}
	res = c.must(0, "plugin", "upgrade")
	if !strings.Contains(res.Stdout, `upgraded driver plugin "tp" from `+src) {
		t.Errorf("plugin upgrade said:\n%s", res.Stdout)
	}
	var list []struct {
		Name        string `json:"name"`
		OK          bool   `json:"ok"`
		SourceState string `json:"source_state"`
	}
	if err := json.Unmarshal([]byte(c.must(0, "plugin", "list", "--format", "json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || !list[0].OK || list[0].SourceState != plugins.SourceSame {
		t.Errorf("plugin list after the upgrade = %+v", list)
	}
	if out := c.must(0, "plugin", "upgrade", "tp").Stdout; !strings.Contains(out, `driver plugin "tp" is unchanged`) {
		t.Errorf("a second upgrade said:\n%s", out)
	}
}
