package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/clirun"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/sdktest"
)

// replay feeds a recorded buildah output ("STREAM LINE" per line) to an
// output and returns what reached the sink, and the failed step's name
// when failure is set.
func replay(t *testing.T, file, failure string) (*driver.StepCounter, []*driver.Event, string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*driver.Event
	c := &driver.StepCounter{Next: driver.SinkFunc(func(ev *driver.Event) { evs = append(evs, ev) })}
	out := newOutput(&clirun.Steps{Sink: c, Now: func() time.Time { return time.Unix(0, 0) }})
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		stream, line, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.Atoi(stream)
		out.line(n, line)
	}
	if failure != "" {
		return c, evs, out.steps.Fail(failure)
	}
	out.steps.Complete()
	return c, evs, ""
}

func TestProgressCachedBuild(t *testing.T) {
	c, _, _ := replay(t, "testdata/cached.out", "")
	if got := c.Count(); got != (driver.StepCount{Total: 5, Cached: 3}) {
		t.Errorf("steps = %+v, want 5 with 3 cached (FROM, COPY, RUN, RUN, commit)", got)
	}
}

func TestProgressFreshBuild(t *testing.T) {
	c, evs, _ := replay(t, "testdata/fresh.out", "")
	if got := c.Count(); got != (driver.StepCount{Total: 5}) {
		t.Errorf("steps = %+v, want 5, none cached", got)
	}
	var logs []string
	for _, ev := range evs {
		for _, l := range ev.Logs {
			logs = append(logs, l.Vertex+":"+strconv.Itoa(l.Stream)+":"+strings.TrimSpace(string(l.Data)))
		}
	}
	want := []string{"step-4:1:to-stdout", "step-4:2:to-stderr", "commit:1:Successfully tagged localhost/bbtest:1"}
	if strings.Join(logs, "|") != strings.Join(want, "|") {
		t.Errorf("logs = %q, want %q", logs, want)
	}
	if evs[0].Vertexes[0].Name != "[1/4] FROM scratch" {
		t.Errorf("first step = %q", evs[0].Vertexes[0].Name)
	}
}

func TestProgressFailedStep(t *testing.T) {
	c, evs, failed := replay(t, "testdata/failed.out", "exit status 1")
	if failed != `[3/3] RUN ["/bin/busybox", "false"]` {
		t.Errorf("failed step = %q", failed)
	}
	last := evs[len(evs)-1].Vertexes[0]
	if last.Error != "exit status 1" || last.Completed == nil {
		t.Errorf("failed vertex = %+v", last)
	}
	if got := c.Count(); got.Total != 3 || got.Cached != 0 {
		t.Errorf("steps = %+v", got)
	}
}

func TestBudArgs(t *testing.T) {
	req := driver.Request{Tags: []string{"a:1", "b"}, BuildArgs: map[string]string{"Z": "1", "A": "2"}, Labels: map[string]string{"l": "v"},
		Target: "dev", NoCache: true, Pull: true, Platforms: []string{"linux/amd64"}, SSH: []driver.SSHSpec{{ID: "default"}, {ID: "k", Paths: []string{"/a", "/b"}}}}
	got := strings.Join(budArgs(req), " ")
	want := "-t a:1 -t b --build-arg A=2 --build-arg Z=1 --label l=v --target dev --no-cache --pull-always --platform linux/amd64 --ssh default --ssh k=/a,/b"
	if got != want {
		t.Errorf("budArgs =\n %s\nwant\n %s", got, want)
	}
	for ref, want := range map[string]string{"x": "x:latest", "r:5000/x": "r:5000/x:latest", "x:1": "x:1", "r/x@sha256:ab": "r/x@sha256:ab"} {
		if got := withTag(ref); got != want {
			t.Errorf("withTag(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestRefusals(t *testing.T) {
	b, err := newBuilder(driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(dir+"/Dockerfile", []byte("FROM scratch\n"), 0o644)
	tests := []struct {
		req  driver.Request
		want error
	}{
		{driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir, Push: true}, driver.ErrUnsupported},
		{driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir, Platforms: []string{"linux/amd64", "linux/arm64"}}, driver.ErrUnsupported},
		{driver.Request{ContextDir: dir}, driver.ErrInvalidRequest},
	}
	for _, tc := range tests {
		if _, err := b.Build(context.Background(), tc.req, nil); !errors.Is(err, tc.want) {
			t.Errorf("Build(%+v) = %v, want %v", tc.req, err, tc.want)
		}
	}
	if _, err := newBuilder(driver.Config{Opts: map[string]string{"colour": "blue"}}); !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("unknown option: %v", err)
	}
}

// busyboxBase is a Dockerfile start that gives a shell, from a static
// busybox put into the context: no image is pulled.
const busyboxBase = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
`

// buildahConfig keeps buildah's storage in the test's folder.
func buildahConfig(t *testing.T) driver.Config {
	dir := t.TempDir()
	return driver.Config{Opts: map[string]string{"root": dir + "/storage", "runroot": dir + "/run"}}
}

// needBuildah returns a static busybox for busyboxBase, or skips (fails
// under CI=true) when buildah or the busybox is missing.
func needBuildah(t *testing.T) []byte {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI must have it", what)
		}
		t.Skip(what)
	}
	if _, err := exec.LookPath("buildah"); err != nil {
		missing("buildah is not installed (apt-get install buildah)")
	}
	bb, err := os.ReadFile("/bin/busybox")
	if out, _ := exec.Command("file", "-L", "/bin/busybox").Output(); err != nil || !strings.Contains(string(out), "statically linked") {
		missing("no static busybox at /bin/busybox (apt-get install busybox-static)")
	}
	return bb
}

// TestConformance runs claude-bottle's conformance suite, real builds
// included.
func TestConformance(t *testing.T) {
	bb := needBuildah(t)
	sdktest.Conformance(t, plugin, buildahConfig(t), sdktest.Options{Base: busyboxBase, Files: map[string][]byte{"busybox": bb}})
}

// TestInstalledPluginBuilds builds this plugin, installs it in a real
// host as claude-bottle plugin install does, and builds with it.
func TestInstalledPluginBuilds(t *testing.T) {
	bb := needBuildah(t)
	host, b := sdktest.Start(t, sdktest.BuildPlugin(t, "."), buildahConfig(t))
	if host.Name != "buildah" || host.Description.Version != version {
		t.Errorf("installed as %+v", host)
	}
	dir := t.TempDir()
	os.WriteFile(dir+"/busybox", bb, 0o755)
	os.WriteFile(dir+"/Dockerfile", []byte(busyboxBase+"RUN echo installed > /out\n"), 0o644)
	var steps []string
	res, err := b.Build(context.Background(), driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir, Tags: []string{"sdktest-buildah:1"}, NoLoad: true},
		driver.SinkFunc(func(ev *driver.Event) {
			for _, v := range ev.Vertexes {
				if v.Completed != nil {
					steps = append(steps, v.Name)
				}
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps.Total < 4 || len(steps) < 4 {
		t.Errorf("steps = %+v, progress %q", res.Steps, steps)
	}
}
