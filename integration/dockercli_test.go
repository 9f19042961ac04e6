//go:build linux

package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/driver/dockercli"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The docker CLIs of this machine: a 28.x client without buildx (its
// docker build is the legacy builder, or buildx once a plugin is given) and
// Debian's 20.10 client, whose docker build speaks to the engine's BuildKit.
const (
	dcNewCLI    = "/usr/local/bin/docker"
	dcDebianCLI = "/usr/bin/docker"
)

// dcSetup is how a test gets the CLI into one mode.
type dcSetup struct {
	mode   dockercli.Mode
	bin    string
	buildx bool // give the CLI the buildx plugin
}

var dcSetups = []dcSetup{
	{mode: dockercli.ModeLegacy, bin: dcNewCLI},
	{mode: dockercli.ModeBuildKit, bin: dcDebianCLI},
	{mode: dockercli.ModeBuildx, bin: dcNewCLI, buildx: true},
}

// dcBuilder makes a docker driver in setup's mode, with DOCKER_CONFIG set
// for the test (an empty folder, or one holding the buildx plugin), and
// fails unless detection finds that mode.
func dcBuilder(t *testing.T, s dcSetup, cfg driver.Config) *dockercli.Builder {
	t.Helper()
	testenv.RequireDocker(t)
	if _, err := os.Stat(s.bin); err != nil {
		testenv.Unavailable(t, "no docker CLI at %s: %v", s.bin, err)
	}
	dockerConfig := t.TempDir()
	if s.buildx {
		dockerConfig = testenv.BuildxConfig(t)
	}
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	cfg.DockerBin = s.bin
	b, err := dockercli.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if m, err := b.(*dockercli.Builder).Mode(ctx); err != nil || m != s.mode {
		t.Fatalf("%s with DOCKER_CONFIG=%s: mode %q, %v; want %q", s.bin, dockerConfig, m, err, s.mode)
	}
	return b.(*dockercli.Builder)
}

// dcRecorder keeps every event of a build.
type dcRecorder struct {
	mu     sync.Mutex
	events []*driver.Event
}

func (r *dcRecorder) Send(ev *driver.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// vertex returns the last state of the first vertex whose name contains s.
func (r *dcRecorder) vertex(s string) (driver.Vertex, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var digest string
	var last driver.Vertex
	for _, ev := range r.events {
		for _, v := range ev.Vertexes {
			if (digest == "" && strings.Contains(v.Name, s)) || v.Digest == digest {
				digest, last = v.Digest, v
			}
		}
	}
	return last, digest != ""
}

// logged reports whether a log line holding s was sent, and on which stream.
func (r *dcRecorder) logged(s string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.events {
		for _, l := range ev.Logs {
			if bytes.Contains(l.Data, []byte(s)) {
				return l.Stream, true
			}
		}
	}
	return 0, false
}

// dcTag is an image name no other test uses, removed when t ends.
func dcTag(t *testing.T, prefix string) string {
	t.Helper()
	tag := "cb-dc-" + prefix + ":" + dcRandom(4)
	testenv.RemoveImages(t, tag)
	return tag
}

func dcRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dcBuild runs one build with a time limit.
func dcBuild(t *testing.T, b driver.Builder, req driver.Request) (*driver.Result, *dcRecorder, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &dcRecorder{}
	res, err := b.Build(ctx, req, rec)
	return res, rec, err
}

// dcProject is a repo as claude-bottle builds it: the context is the repo
// root, and the Dockerfile lives outside it, as a bottle's override in
// ~/.claude-bottle/state/<slug>/Dockerfile does.
func dcProject(t *testing.T, dockerfile string, files map[string]string) driver.Request {
	t.Helper()
	repo := testenv.BusyboxContext(t, files)
	state := t.TempDir()
	testenv.WriteFiles(t, state, map[string]string{"Dockerfile": dockerfile})
	return driver.Request{Dockerfile: filepath.Join(state, "Dockerfile"), ContextDir: repo}
}

// dcDockerfile has two stages, a build arg, output on both streams, a RUN
// whose output is new each time it runs (/uuid), COPY --from, a label and
// a copy of the whole context.
const dcDockerfile = testenv.BusyboxDockerfile + `ARG GREETING=unset
RUN echo "log-$GREETING" && echo "err-$GREETING" >&2 && echo "$GREETING" > /greeting
RUN cat /proc/sys/kernel/random/uuid > /uuid

FROM scratch
COPY --from=0 /bin/busybox /bin/busybox
COPY --from=0 /greeting /uuid /
COPY . /ctx
LABEL org.example.dc=yes
`

// TestDockerCLIModes builds one project in each builder mode the CLI
// offers here and checks the image, the progress and the cache. What
// --no-cache promises is that every RUN runs again: BuildKit may still
// take a COPY from its content-addressed cache, so only RUN steps are
// asserted, and /uuid proves they ran.
func TestDockerCLIModes(t *testing.T) {
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) { dcModeBuild(t, s) })
	}
}

func dcModeBuild(t *testing.T, s dcSetup) {
	b := dcBuilder(t, s, driver.Config{})
	req := dcProject(t, dcDockerfile, map[string]string{"src/main.go": "package main\n", "ignored.txt": "no\n"})
	req.Tags = []string{dcTag(t, string(s.mode))}
	// A greeting of this run's own: no step after the ARG can match what
	// the engine built before, so the rebuild below has one candidate.
	greeting := "hi-" + string(s.mode) + "-" + dcRandom(4)
	req.BuildArgs = map[string]string{"GREETING": greeting}
	req.NoCache = true
	ignore := req.Dockerfile + ".dockerignore"
	testenv.WriteFiles(t, filepath.Dir(ignore), map[string]string{filepath.Base(ignore): "ignored.txt\n"})
	if s.mode == dockercli.ModeLegacy {
		// The legacy builder cannot read a per-Dockerfile ignore file: an
		// error naming it, not a build that quietly sends the file.
		_, _, err := dcBuild(t, b, req)
		if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "Dockerfile.dockerignore") {
			t.Fatalf("legacy with %s: err = %v, want ErrUnsupported naming it", ignore, err)
		}
		os.Remove(ignore)
	}
	res, rec, err := dcBuild(t, b, req)
	if err != nil {
		t.Fatal(err)
	}
	if id := testenv.Docker(t, "image", "inspect", "--format", "{{.Id}}", req.Tags[0]); res.ImageID != id {
		t.Errorf("ImageID %q, engine has %q for %s", res.ImageID, id, req.Tags[0])
	}
	if got := testenv.RunImage(t, req.Tags[0], "/bin/busybox", "cat", "/greeting"); got != greeting {
		t.Errorf("/greeting = %q, want %q", got, greeting)
	}
	files := testenv.RunImage(t, req.Tags[0], "/bin/busybox", "find", "/ctx", "-type", "f")
	wantIgnored := s.mode != dockercli.ModeLegacy
	if strings.Contains(files, "ignored.txt") == wantIgnored || !strings.Contains(files, "/ctx/src/main.go") {
		t.Errorf("context files in the image (ignored.txt excluded: %v):\n%s", wantIgnored, files)
	}
	if testenv.Docker(t, "image", "inspect", "--format", `{{index .Config.Labels "org.example.dc"}}`, req.Tags[0]) != "yes" {
		t.Error("label missing")
	}
	stream, ok := rec.logged("log-hi-")
	if !ok || stream != 1 {
		t.Errorf("RUN's stdout as a log line: found %v on stream %d", ok, stream)
	}
	if _, ok := rec.logged("err-hi-"); !ok {
		t.Error("RUN's stderr was not sent as a log line")
	}
	if v, ok := rec.vertex("RUN echo"); !ok || v.Completed == nil || v.Started == nil {
		t.Errorf("no started and completed vertex for the RUN step: %+v", v)
	}
	if res.Steps.Total == 0 {
		t.Errorf("--no-cache build: steps %+v, want some", res.Steps)
	}
	dcRunsRan(t, "--no-cache build", rec)
	uuid := testenv.RunImage(t, req.Tags[0], "/bin/busybox", "cat", "/uuid")
	t.Logf("%s: %+v in %v", s.mode, res.Steps, res.Duration.Round(time.Millisecond))

	req.NoCache = false
	again, _, err := dcBuild(t, b, req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ImageID != res.ImageID || again.Steps.Cached == 0 || again.Steps.Total != res.Steps.Total {
		t.Errorf("rebuild: %s %+v, want %s with the same steps, cached", again.ImageID, again.Steps, res.ImageID)
	}

	req.NoCache = true
	fresh, rec, err := dcBuild(t, b, req)
	if err != nil {
		t.Fatal(err)
	}
	dcRunsRan(t, "second --no-cache build", rec)
	if got := testenv.RunImage(t, req.Tags[0], "/bin/busybox", "cat", "/uuid"); got == uuid || fresh.ImageID == res.ImageID {
		t.Errorf("second --no-cache build: /uuid %q and image %s, as before: its RUN did not run again", got, fresh.ImageID)
	}
	dcInfo(t, b, s)
	if s.mode == dockercli.ModeBuildx {
		req.NoCache = false
		dcNoCacheFilter(t, b, req)
	}
}

// dcRunsRan fails t unless the build ran RUN steps and took none of them
// from the cache.
func dcRunsRan(t *testing.T, what string, rec *dcRecorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	last := map[string]driver.Vertex{}
	for _, ev := range rec.events {
		for _, v := range ev.Vertexes {
			last[v.Digest] = v
		}
	}
	runs := 0
	for _, v := range last {
		if !strings.Contains(v.Name, "] RUN ") {
			continue
		}
		runs++
		if v.Cached {
			t.Errorf("%s: step %q came from the cache", what, v.Name)
		}
	}
	if runs < 3 {
		t.Errorf("%s: %d RUN steps seen, want 3", what, runs)
	}
}

// dcInfo checks what Info says of the mode.
func dcInfo(t *testing.T, b *dockercli.Builder, s dcSetup) {
	t.Helper()
	info, err := b.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "docker" || info.Version == "" || !strings.Contains(info.Endpoint, s.bin) {
		t.Errorf("info: %+v", info)
	}
	if info.Supports(driver.FeatureSecrets) == (s.mode == dockercli.ModeLegacy) {
		t.Errorf("%s: secrets feature %v", s.mode, info.Supports(driver.FeatureSecrets))
	}
	if s.mode == dockercli.ModeLegacy && len(info.Notes) == 0 {
		t.Error("legacy mode must state its limits in Info.Notes")
	}
	if err := b.Check(context.Background()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// dcNoCacheFilter rebuilds with the first stage's cache disabled: its RUN
// runs again while the build stays otherwise cached.
func dcNoCacheFilter(t *testing.T, b driver.Builder, req driver.Request) {
	t.Helper()
	req.NoCacheStages = []string{"0"}
	req.Dockerfile = strings.Replace(dcDockerfile, "FROM scratch\n", "FROM scratch AS first\n", 1)
	p := dcProject(t, req.Dockerfile, nil)
	req.Dockerfile, req.ContextDir = p.Dockerfile, p.ContextDir
	if _, _, err := dcBuild(t, b, req); err != nil { // fill the cache
		t.Fatal(err)
	}
	req.NoCacheStages = []string{"first"}
	_, rec, err := dcBuild(t, b, req)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := rec.vertex("RUN echo")
	if !ok || v.Cached {
		t.Errorf("with --no-cache-filter first, the first stage's RUN was cached (found %v): %+v", ok, v)
	}
}

// TestDockerCLIFailedRun checks that a failing RUN is ErrBuildFailed
// naming the step and carrying its output, in every mode.
func TestDockerCLIFailedRun(t *testing.T) {
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) {
			b := dcBuilder(t, s, driver.Config{})
			marker := "boom-marker-" + dcRandom(4)
			req := dcProject(t, testenv.BusyboxDockerfile+"RUN echo "+marker+" && exit 7\n", nil)
			_, rec, err := dcBuild(t, b, req)
			if left := testenv.Docker(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}"); strings.Contains(left, marker) {
				t.Errorf("the failed step's container was left behind:\n%s", left)
			}
			if !errors.Is(err, driver.ErrBuildFailed) || !strings.Contains(err.Error(), "boom-marker") || !strings.Contains(err.Error(), "RUN echo boom-marker") {
				t.Fatalf("err = %v, want ErrBuildFailed naming the step with its output", err)
			}
			if v, ok := rec.vertex("RUN echo boom-marker"); !ok || v.Error == "" {
				t.Errorf("the failed step's vertex carries no error: %+v", v)
			}
		})
	}
}

// TestDockerCLIDockerfileRejected builds a Dockerfile that BuildKit's
// current parser accepts but the engine's 20.10 frontend refuses (COPY
// --link): ErrInvalidDockerfile with docker's reason in the BuildKit modes,
// and an ErrUnsupported naming the flag before docker runs in legacy mode.
func TestDockerCLIDockerfileRejected(t *testing.T) {
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) {
			b := dcBuilder(t, s, driver.Config{})
			req := dcProject(t, "FROM scratch\nCOPY --link busybox /bin/busybox\n", nil)
			_, _, err := dcBuild(t, b, req)
			want, naming := driver.ErrInvalidDockerfile, "link"
			if s.mode == dockercli.ModeLegacy {
				want, naming = driver.ErrUnsupported, `"--link" of COPY on line 2`
			}
			if !errors.Is(err, want) || !strings.Contains(err.Error(), naming) {
				t.Fatalf("err = %v, want %v naming %q", err, want, naming)
			}
		})
	}
}

// TestDockerCLISecrets checks that secrets reach RUN --mount=type=secret
// and stay out of the image's layers, config and history, through the
// environment and through a temporary file.
func TestDockerCLISecrets(t *testing.T) {
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) {
			b := dcBuilder(t, s, driver.Config{})
			tmp := t.TempDir() // the build's temporary files, secret files included, go here
			t.Setenv("TMPDIR", tmp)
			secret := "s3cret-" + dcRandom(8)
			req := dcProject(t, testenv.BusyboxDockerfile+
				"RUN --mount=type=secret,id=tok --mount=type=secret,id=bin wc -c < /run/secrets/tok > /tok-len && wc -c < /run/secrets/bin > /bin-len\n", nil)
			req.Tags = []string{dcTag(t, "secret")}
			req.Secrets = []driver.SecretSpec{{ID: "tok"}, {ID: "bin"}}
			req.SecretSource = dcSecrets{"tok": secret, "bin": "a\x00" + secret}
			req.NoCache = true
			_, _, err := dcBuild(t, b, req)
			if s.mode == dockercli.ModeLegacy {
				if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "secrets") {
					t.Fatalf("legacy: err = %v, want ErrUnsupported naming secrets", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := testenv.RunImage(t, req.Tags[0], "cat", "/tok-len", "/bin-len"); strings.Join(strings.Fields(got), " ") != "23 25" {
				t.Errorf("secret sizes seen by RUN = %q, want 23 and 25", got)
			}
			if dcImageContains(t, req.Tags[0], []byte(secret)) {
				t.Errorf("the secret is in the image or its history")
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("the build left %d temporary files behind in %s", len(left), tmp)
			}
		})
	}
}

type dcSecrets map[string]string

func (m dcSecrets) Secret(_ context.Context, id string) ([]byte, error) {
	v, ok := m[id]
	if !ok {
		return nil, driver.ErrNotFound
	}
	return []byte(v), nil
}

// dcImageContains reports whether `docker save` of image (every layer and
// the config, whose history holds each step's command) or `docker history`
// contains needle.
func dcImageContains(t *testing.T, image string, needle []byte) bool {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	testenv.Docker(t, "save", "-o", path, image)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found, err := tarContains(f, needle)
	if err != nil {
		t.Fatal(err)
	}
	return found || strings.Contains(testenv.Docker(t, "history", "--no-trunc", image), string(needle))
}

// TestDockerCLICancel cancels a build during a long RUN in every mode: the
// build returns ErrCanceled and the step's process goes away.
func TestDockerCLICancel(t *testing.T) {
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) {
			b := dcBuilder(t, s, driver.Config{})
			marker := strconv.Itoa(4000 + int(time.Now().UnixNano()%1000)) // a sleep of its own, to find its process
			req := dcProject(t, testenv.BusyboxDockerfile+"RUN echo started && sleep "+marker+"\n", nil)
			req.NoCache = true
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &dcRecorder{}
			errc := make(chan error, 1)
			go func() { _, err := b.Build(ctx, req, rec); errc <- err }()
			waitFor(t, 2*time.Minute, "the RUN to start", func() bool {
				_, ok := rec.logged("started")
				return ok && dcSleeping(marker)
			})
			cancel()
			start := time.Now()
			select {
			case err := <-errc:
				if !errors.Is(err, driver.ErrCanceled) {
					t.Errorf("err = %v, want ErrCanceled", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Build still running 30s after cancel")
			}
			t.Logf("%s: Build returned %v after cancel", s.mode, time.Since(start).Round(time.Millisecond))
			waitFor(t, 30*time.Second, "the engine to stop the canceled step", func() bool { return !dcSleeping(marker) })
		})
	}
}

// dcSleeping reports whether a process runs "sleep MARKER" on this machine.
func dcSleeping(marker string) bool {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Equal(bytes.TrimRight(b, "\x00"), []byte("sleep\x00"+marker)) {
			return true
		}
	}
	return false
}

// TestDockerCLIMissingBinary checks the message for a docker CLI that is
// not there, by path and by name on PATH.
func TestDockerCLIMissingBinary(t *testing.T) {
	req := dcProject(t, testenv.BusyboxDockerfile, nil)
	for _, bin := range []string{filepath.Join(t.TempDir(), "docker"), "claude-bottle-no-such-docker"} {
		b, err := dockercli.New(context.Background(), driver.Config{DockerBin: bin})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = dcBuild(t, b, req)
		if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), bin) || !strings.Contains(err.Error(), "--docker-bin") {
			t.Errorf("%s: err = %v, want ErrNotFound naming the binary and --docker-bin", bin, err)
		}
	}
}

// TestDockerCLIDaemonDown points the CLI at a socket nobody serves: Check
// and Build say the daemon is unreachable and name DOCKER_HOST.
func TestDockerCLIDaemonDown(t *testing.T) {
	testenv.RequireIntegration(t)
	host := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	for _, s := range []dcSetup{dcSetups[0], dcSetups[2]} {
		t.Run(string(s.mode), func(t *testing.T) {
			if _, err := os.Stat(s.bin); err != nil {
				testenv.Unavailable(t, "no docker CLI at %s", s.bin)
			}
			dockerConfig := t.TempDir()
			if s.buildx {
				dockerConfig = testenv.BuildxConfig(t)
			}
			t.Setenv("DOCKER_CONFIG", dockerConfig)
			b, err := dockercli.New(context.Background(), driver.Config{DockerBin: s.bin, DockerHost: host})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := b.Check(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), host) {
				t.Errorf("Check: %v, want ErrDaemonUnreachable naming %s", err, host)
			}
			_, _, err = dcBuild(t, b, dcProject(t, testenv.BusyboxDockerfile, nil))
			if !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), "DOCKER_HOST") {
				t.Errorf("Build: %v, want ErrDaemonUnreachable naming DOCKER_HOST", err)
			}
		})
	}
}

// dcTarEntries lists a tar stream as "name mode type size sha256[:12]"
// per entry (link targets for links), ignoring times and owners' names,
// so that two exports of the same files compare equal.
func dcTarEntries(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(h.Name, "/")] = fmt.Sprintf("%o %c %d:%d %d %x %s", h.Mode&0o7777, h.Typeflag, h.Uid, h.Gid, h.Size, sum.Sum(nil)[:12], h.Linkname)
	}
}

// TestDockerCLIBuildxPush pushes through buildx to a registry on
// 127.0.0.1: the image is in the engine and the registry, and
// Result.Digest is the pushed manifest's digest.
func TestDockerCLIBuildxPush(t *testing.T) {
	b := dcBuilder(t, dcSetups[2], driver.Config{})
	reg := testenv.SharedRegistry(t)
	req := dcProject(t, testenv.BusyboxDockerfile+"RUN echo pushed > /p\n", nil)
	repo := "dc/push-" + dcRandom(3)
	req.Tags = []string{reg.Host + "/" + repo + ":v1"}
	testenv.RemoveImages(t, req.Tags[0])
	req.Push = true
	res, _, err := dcBuild(t, b, req)
	if err != nil {
		t.Fatal(err)
	}
	if id := testenv.Docker(t, "image", "inspect", "--format", "{{.Id}}", req.Tags[0]); id != res.ImageID {
		t.Errorf("engine has %s, result says %s", id, res.ImageID)
	}
	if got := dcManifestDigest(t, reg.Host, repo, "v1"); res.Digest == "" || got != res.Digest {
		t.Errorf("registry manifest digest %q, Result.Digest %q", got, res.Digest)
	}
}

// dcManifestDigest asks the registry for the digest of repo:tag.
func dcManifestDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD manifest %s:%s: %s", repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// TestDockerCLIConcurrent runs builds from several goroutines on one new
// Builder, as `claude-bottle build --jobs N` does, so that they share its
// first detection (under -race), and every build gets its own image.
func TestDockerCLIConcurrent(t *testing.T) {
	b := dcBuilder(t, dcSetups[2], driver.Config{})
	fresh, err := dockercli.New(context.Background(), driver.Config{DockerBin: dcSetups[2].bin})
	if err != nil {
		t.Fatal(err)
	}
	_ = b // made only to set up DOCKER_CONFIG and check the mode
	var wg sync.WaitGroup
	errs := make([]error, 3)
	ids := make([]string, 3)
	for i := range errs {
		req := dcProject(t, testenv.BusyboxDockerfile+fmt.Sprintf("RUN echo job-%d-%s > /job\n", i, dcRandom(4)), nil)
		req.Tags = []string{dcTag(t, fmt.Sprintf("job%d", i))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _, err := dcBuild(t, fresh, req)
			if errs[i] = err; err == nil {
				ids[i] = res.ImageID
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("job %d: %v", i, err)
		}
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Errorf("three different Dockerfiles gave image IDs %q", ids)
	}
}

// TestDockerCLIContext checks that the driver honours DOCKER_CONTEXT (here
// a context whose engine does not exist) and that cfg.DockerHost overrides
// it.
func TestDockerCLIContext(t *testing.T) {
	testenv.RequireDocker(t)
	s := dcSetups[0]
	if _, err := os.Stat(s.bin); err != nil {
		testenv.Unavailable(t, "no docker CLI at %s", s.bin)
	}
	engine := os.Getenv("DOCKER_HOST") // the engine RequireDocker found
	if engine == "" {
		engine = "unix:///var/run/docker.sock"
	}
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	nobody := "unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	if out, err := exec.Command(s.bin, "context", "create", "nowhere", "--docker", "host="+nobody).CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v\n%s", err, out)
	}
	t.Setenv("DOCKER_CONTEXT", "nowhere")
	t.Setenv("DOCKER_HOST", "")
	os.Unsetenv("DOCKER_HOST")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, _ := dockercli.New(ctx, driver.Config{DockerBin: s.bin})
	if err := b.Check(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), `DOCKER_CONTEXT="nowhere"`) {
		t.Errorf("Check through context nowhere: %v, want ErrDaemonUnreachable naming DOCKER_CONTEXT", err)
	}
	b, _ = dockercli.New(ctx, driver.Config{DockerBin: s.bin, DockerHost: engine})
	if err := b.Check(ctx); err != nil {
		t.Errorf("Check with DockerHost %s overriding the context: %v", engine, err)
	}
}
