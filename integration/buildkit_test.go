//go:build linux

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/driver/buildkit"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// bkBuilder makes a buildkit driver for cfg, closed when t ends.
func bkBuilder(t *testing.T, cfg driver.Config) driver.Builder {
	t.Helper()
	b, err := buildkit.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("buildkit.New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { b.(driver.Closer).Close() })
	return b
}

// recorder is a Sink that keeps every event, for tests that look at steps.
type recorder struct {
	mu     sync.Mutex
	events []*driver.Event
}

func (r *recorder) Send(ev *driver.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// vertexes returns the last state of every vertex seen, by digest.
func (r *recorder) vertexes() map[string]driver.Vertex {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]driver.Vertex{}
	for _, ev := range r.events {
		for _, v := range ev.Vertexes {
			out[v.Digest] = v
		}
	}
	return out
}

// started reports whether a vertex whose name contains s has started.
func (r *recorder) started(s string) bool {
	for _, v := range r.vertexes() {
		if strings.Contains(v.Name, s) && v.Started != nil {
			return true
		}
	}
	return false
}

// bkBuild runs one build with a time limit and fails t on error.
func bkBuild(t *testing.T, b driver.Builder, req driver.Request) (*driver.Result, *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorder{}
	res, err := b.Build(ctx, req, rec)
	if err != nil {
		t.Fatalf("build %s: %v", req.Dockerfile, err)
	}
	return res, rec
}

// uniqueTag is an image name no other test uses, removed when t ends.
func uniqueTag(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	tag := "cb-bk-" + prefix + ":" + hex.EncodeToString(b)
	testenv.RemoveImages(t, tag)
	return tag
}

// loadCounter is a Docker engine API proxy on a unix socket that counts
// the request bytes sent to POST /images/load, to prove what the driver
// sends the engine.
type loadCounter struct {
	Host  string // unix://... for driver.Config.DockerHost
	bytes atomic.Int64
	calls atomic.Int64
}

func startLoadCounter(t *testing.T, engineSock string) *loadCounter {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	lc := &loadCounter{Host: "unix://" + sock}
	target, _ := url.Parse("http://docker")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engineSock)
	}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/images/load") {
			lc.calls.Add(1)
			r.Body = &countingBody{ReadCloser: r.Body, n: &lc.bytes}
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return lc
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// imageContains reports whether any file of the saved image (layers
// included, decompressed) or its metadata holds needle.
func imageContains(t *testing.T, image string, needle []byte) bool {
	t.Helper()
	cmd := exec.Command(testenv.DockerCLI(), "save", image)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found, err := tarContains(out, needle)
	if werr := cmd.Wait(); werr != nil || err != nil {
		t.Fatalf("docker save %s: %v %v", image, werr, err)
	}
	hist := testenv.Docker(t, "history", "--no-trunc", image)
	return found || bytes.Contains([]byte(hist), needle)
}

func tarContains(r io.Reader, needle []byte) (bool, error) {
	tr := tar.NewReader(r)
	found := false
	for {
		_, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return found, nil
		}
		if err != nil {
			return found, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return found, err
		}
		if bytes.Contains(data, needle) {
			found = true
		}
		if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
				if data, err = io.ReadAll(zr); err == nil && bytes.Contains(data, needle) {
					found = true
				}
			}
		}
		if isTar(data) {
			if ok, _ := tarContains(bytes.NewReader(data), needle); ok {
				found = true
			}
		}
	}
}

func isTar(data []byte) bool {
	return len(data) > 262 && bytes.Equal(data[257:262], []byte("ustar"))
}

// Dockerfiles of the tests: FROM scratch with a static busybox, since no
// image can be pulled here.
const (
	// multiStage proves multi-stage builds, RUN, COPY --from, build args
	// and labels; /ctx lists what the context sent.
	multiStage = `FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM base AS gen
ARG GREETING=unset
RUN echo "$GREETING" > /greeting

FROM base
COPY --from=gen /greeting /greeting
COPY . /ctx
RUN rm /ctx/busybox
LABEL org.example.test=multistage
`
)

// TestBuildkitEngine builds through the Docker engine's embedded BuildKit,
// straight into the engine's image store, and runs the image to prove
// what is in it, including which files each .dockerignore kept out.
func TestBuildkitEngine(t *testing.T) {
	testenv.RequireDocker(t)
	b := bkBuilder(t, driver.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	info, _ := b.Info(ctx)
	if info.Supports(driver.FeaturePush) || !info.Supports(driver.FeatureSecrets) {
		t.Errorf("engine Info features = %v, want secrets and no push", info.Features)
	}
	dir := testenv.BusyboxContext(t, map[string]string{
		"Dockerfile":            multiStage,
		".dockerignore":         "ignored-by-root.txt\n",
		"docker/app.Dockerfile": multiStage,
		// Beside its Dockerfile, this one replaces the root .dockerignore.
		"docker/app.Dockerfile.dockerignore": "ignored-by-app.txt\n",
		"ignored-by-root.txt":                "x",
		"ignored-by-app.txt":                 "y",
		"kept.txt":                           "z",
	})
	tag := uniqueTag(t, "engine")
	res, _ := bkBuild(t, b, driver.Request{
		Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{tag},
		BuildArgs: map[string]string{"GREETING": "hello-engine"},
	})
	if !strings.HasPrefix(res.ImageID, "sha256:") || res.Digest != "" || res.Steps.Total == 0 {
		t.Fatalf("result = %+v, want an image ID and steps", res)
	}
	if id := testenv.Docker(t, "image", "inspect", "-f", "{{.Id}}", tag); id != res.ImageID {
		t.Errorf("engine has %s as %s, result says %s", tag, id, res.ImageID)
	}
	if got := testenv.RunImage(t, tag, "cat", "/greeting"); got != "hello-engine" {
		t.Errorf("/greeting = %q, want the build arg", got)
	}
	if got := testenv.RunImage(t, tag, "ls", "/ctx"); got != "Dockerfile\ndocker\nignored-by-app.txt\nkept.txt" {
		t.Errorf("root .dockerignore: context holds %q", got)
	}
	if got := testenv.Docker(t, "image", "inspect", "-f", `{{index .Config.Labels "org.example.test"}}`, tag); got != "multistage" {
		t.Errorf("label = %q", got)
	}

	tag2 := uniqueTag(t, "engine-app")
	bkBuild(t, b, driver.Request{
		Dockerfile: filepath.Join(dir, "docker", "app.Dockerfile"), ContextDir: dir, Tags: []string{tag2},
	})
	if got := testenv.RunImage(t, tag2, "ls", "/ctx"); got != "Dockerfile\ndocker\nignored-by-root.txt\nkept.txt" {
		t.Errorf("<Dockerfile>.dockerignore: context holds %q", got)
	}
}

// engineSocket is the Docker engine's unix socket the load counter
// forwards to.
func engineSocket(t *testing.T) string {
	t.Helper()
	host := testenv.Docker(t, "context", "inspect", "-f", "{{.Endpoints.docker.Host}}")
	if !strings.HasPrefix(host, "unix://") {
		testenv.Unavailable(t, "the Docker engine is not on a unix socket (%q)", host)
	}
	return strings.TrimPrefix(host, "unix://")
}

// TestBuildkitStandaloneLoad builds on a standalone buildkitd and loads
// into the engine through a proxy that counts what reaches the engine's
// image-load API: the first build sends the image, a rebuild whose result
// the engine already holds sends nothing and only tags.
func TestBuildkitStandaloneLoad(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	lc := startLoadCounter(t, engineSocket(t))
	b := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr, DockerHost: lc.Host})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": multiStage, "kept.txt": "z"})
	// A random build arg makes the first build's image new to the engine.
	nonce := uniqueTag(t, "nonce")
	req := driver.Request{
		Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{uniqueTag(t, "load")},
		BuildArgs: map[string]string{"GREETING": nonce},
	}
	first, _ := bkBuild(t, b, req)
	sent := lc.bytes.Load()
	if sent == 0 || lc.calls.Load() != 1 {
		t.Fatalf("first build sent %d bytes in %d loads, want the image once", sent, lc.calls.Load())
	}
	if got := testenv.RunImage(t, req.Tags[0], "cat", "/greeting"); got != nonce {
		t.Errorf("/greeting = %q, want %q", got, nonce)
	}
	if id := testenv.Docker(t, "image", "inspect", "-f", "{{.Id}}", req.Tags[0]); id != first.ImageID {
		t.Errorf("engine image ID %s != result %s", id, first.ImageID)
	}

	req.Tags = []string{uniqueTag(t, "load-again")}
	again, _ := bkBuild(t, b, req)
	if n := lc.bytes.Load() - sent; n != 0 {
		t.Errorf("no-op rebuild sent %d bytes to the engine's image-load API, want 0", n)
	}
	if again.ImageID != first.ImageID || again.Steps.Cached == 0 {
		t.Errorf("rebuild = %+v, want image %s from cache", again, first.ImageID)
	}
	if id := testenv.Docker(t, "image", "inspect", "-f", "{{.Id}}", req.Tags[0]); id != first.ImageID {
		t.Errorf("rebuild's tag names %s, want %s", id, first.ImageID)
	}
	t.Logf("first build sent %d bytes in %v; no-op rebuild sent 0 in %v and tagged %s", sent, first.Duration.Round(time.Millisecond), again.Duration.Round(time.Millisecond), req.Tags[0])
}

// TestBuildkitSecrets mounts a secret into a RUN from the request's
// SecretSource, on a buildkitd and on the engine's BuildKit, and proves
// that the step saw it while no layer, config or history entry of the
// saved image holds it.
func TestBuildkitSecrets(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	for _, tc := range []struct {
		name string
		cfg  driver.Config
	}{{"buildkitd", driver.Config{BuildKitAddr: bk.Addr}}, {"engine", driver.Config{}}} {
		t.Run(tc.name, func(t *testing.T) {
			b := bkBuilder(t, tc.cfg)
			secret := "s3cr3t-" + strings.TrimPrefix(uniqueTag(t, "x"), "cb-bk-x:")
			dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile +
				"RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha256\n"})
			tag := uniqueTag(t, "secret")
			bkBuild(t, b, driver.Request{
				Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{tag},
				Secrets:      []driver.SecretSpec{{ID: "token", Env: "CB_TEST_TOKEN"}},
				SecretSource: secretMap{"token": secret},
				// A secret's value is not part of a step's cache key, so a
				// RUN cached from an earlier run would hash an old secret.
				NoCache: true,
			})
			sum := sha256.Sum256([]byte(secret))
			if got := testenv.RunImage(t, tag, "cat", "/token.sha256"); got != hex.EncodeToString(sum[:]) {
				t.Errorf("the RUN saw a secret hashing to %q, want %x", got, sum)
			}
			// The scan must see into layers: the hash the RUN wrote is found.
			if !imageContains(t, tag, []byte(hex.EncodeToString(sum[:]))) {
				t.Fatalf("the image scan cannot see the layer file /token.sha256")
			}
			if imageContains(t, tag, []byte(secret)) {
				t.Errorf("the saved image %s holds the secret", tag)
			}
		})
	}
}

// secretMap is a SecretSource over fixed values.
type secretMap map[string]string

func (m secretMap) Secret(_ context.Context, id string) ([]byte, error) {
	v, ok := m[id]
	if !ok {
		return nil, driver.ErrNotFound
	}
	return []byte(v), nil
}

// TestBuildkitTCP builds on a buildkitd listening on 127.0.0.1 with mutual
// TLS, and proves that plain TCP is refused unless allowed.
func TestBuildkitTCP(t *testing.T) {
	testenv.RequireDocker(t)
	if _, err := buildkit.New(context.Background(), driver.Config{BuildKitAddr: "tcp://127.0.0.1:1234"}); !errors.Is(err, driver.ErrInvalidRequest) ||
		!strings.Contains(err.Error(), "--buildkit-insecure") {
		t.Errorf("plain tcp:// without TLS: err = %v, want a refusal naming --buildkit-insecure", err)
	}
	bk := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{TCP: true})
	tlsCfg := driver.TLSConfig{CA: bk.Certs.CA, Cert: bk.Certs.ClientCert, Key: bk.Certs.ClientKey}
	b := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr, BuildKitTLS: tlsCfg})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check over mTLS: %v", err)
	}
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile + "RUN echo tls > /via\n"})
	tag := uniqueTag(t, "tcp")
	bkBuild(t, b, driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{tag}})
	if got := testenv.RunImage(t, tag, "cat", "/via"); got != "tls" {
		t.Errorf("/via = %q", got)
	}
	// Without the client certificate the daemon refuses the connection.
	noCert := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr, BuildKitTLS: driver.TLSConfig{CA: bk.Certs.CA}})
	if err := noCert.Check(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) {
		t.Errorf("Check without a client certificate: err = %v, want ErrDaemonUnreachable", err)
	}
}

// TestBuildkitPushAndRegistryCache pushes an image and its cache to the
// test registry, then builds on a fresh buildkitd (empty root) with the
// registry cache: every Dockerfile step comes from the cache.
func TestBuildkitPushAndRegistryCache(t *testing.T) {
	testenv.RequireDocker(t)
	reg := testenv.SharedRegistry(t)
	bk := testenv.Buildkitd(t)
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": multiStage, "kept.txt": "z"})
	image := reg.Host + "/cb/app:v1"
	cacheRef := reg.Host + "/cb/cache:v1"
	req := driver.Request{
		Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{image},
		BuildArgs: map[string]string{"GREETING": "pushed"},
		Push:      true,
		CacheTo:   []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": cacheRef, "mode": "max"}}},
	}
	testenv.RemoveImages(t, image)
	res, _ := bkBuild(t, bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr}), req)
	if res.Digest == "" {
		t.Fatalf("push result = %+v, want a manifest digest", res)
	}
	if got := manifestDigest(t, reg.Host, "cb/app", "v1"); got != res.Digest {
		t.Errorf("registry has cb/app:v1 at %q, result says %q", got, res.Digest)
	}

	if got := testenv.RunImage(t, image, "cat", "/greeting"); got != "pushed" {
		t.Errorf("the pushed image is also loaded: /greeting = %q", got)
	}

	fresh := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{Registries: []string{reg.Host}})
	req.Push, req.CacheTo, req.NoLoad = false, nil, true
	req.CacheFrom = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": cacheRef}}}
	again, rec := bkBuild(t, bkBuilder(t, driver.Config{BuildKitAddr: fresh.Addr}), req)
	steps, cached := 0, 0
	for _, v := range rec.vertexes() {
		// Dockerfile steps are named "[stage n/m] ..." or "[n/m] ...";
		// "[internal] load ..." steps read local files and never cache.
		if !strings.HasPrefix(v.Name, "[") || strings.HasPrefix(v.Name, "[internal]") {
			continue
		}
		steps++
		if v.Cached {
			cached++
		} else {
			t.Errorf("step %q was not cached", v.Name)
		}
	}
	if steps < 5 || cached != steps || again.ImageID != res.ImageID {
		t.Errorf("fresh buildkitd with registry cache: %d/%d steps cached, image %s (want %s)", cached, steps, again.ImageID, res.ImageID)
	}
}

// manifestDigest asks the registry for a manifest's digest.
func manifestDigest(t *testing.T, host, repo, tag string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, "http://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("registry: %s/%s:%s: %s", host, repo, tag, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

// TestBuildkitErrors checks the error classes: a Dockerfile error names
// the file and line, a failed RUN names the step, an unreachable daemon
// names the address and how to start one, and a field the engine's
// BuildKit cannot honour is refused by name.
func TestBuildkitErrors(t *testing.T) {
	testenv.RequireDocker(t)
	b := bkBuilder(t, driver.Config{})
	dir := testenv.BusyboxContext(t, map[string]string{
		"bad.Dockerfile":  "FROM scratch\nCOPY busybox /bin/busybox\nFROBNICATE now\n",
		"fail.Dockerfile": testenv.BusyboxDockerfile + "RUN echo about to fail && exit 3\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	bad := filepath.Join(dir, "bad.Dockerfile")
	_, err := b.Build(ctx, driver.Request{Dockerfile: bad, ContextDir: dir}, nil)
	if !errors.Is(err, driver.ErrInvalidDockerfile) || !strings.Contains(err.Error(), strconv.Quote(bad)+" line 3") ||
		!strings.Contains(err.Error(), "FROBNICATE") {
		t.Errorf("bad Dockerfile: err = %v, want ErrInvalidDockerfile naming %q line 3 and the instruction", err, bad)
	}
	t.Logf("Dockerfile error: %v", err)

	_, err = b.Build(ctx, driver.Request{Dockerfile: filepath.Join(dir, "fail.Dockerfile"), ContextDir: dir}, nil)
	if !errors.Is(err, driver.ErrBuildFailed) || !strings.Contains(err.Error(), "RUN echo about to fail") ||
		!strings.Contains(err.Error(), "exit code: 3") {
		t.Errorf("failed RUN: err = %v, want ErrBuildFailed naming the step and exit code", err)
	}
	t.Logf("failed RUN: %v", err)

	// A standalone buildkitd gives typed errors: the same classes and names.
	sb := bkBuilder(t, driver.Config{BuildKitAddr: testenv.Buildkitd(t).Addr})
	_, err = sb.Build(ctx, driver.Request{Dockerfile: bad, ContextDir: dir}, nil)
	if !errors.Is(err, driver.ErrInvalidDockerfile) || !strings.Contains(err.Error(), strconv.Quote(bad)+" line 3") {
		t.Errorf("bad Dockerfile on buildkitd: err = %v", err)
	}
	_, err = sb.Build(ctx, driver.Request{Dockerfile: filepath.Join(dir, "fail.Dockerfile"), ContextDir: dir}, nil)
	if !errors.Is(err, driver.ErrBuildFailed) || !strings.Contains(err.Error(), "RUN echo about to fail") ||
		!strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "exit code: 3") {
		t.Errorf("failed RUN on buildkitd: err = %v, want ErrBuildFailed naming the step, its line and exit code", err)
	}
	t.Logf("failed RUN on buildkitd: %v", err)

	_, err = b.Build(ctx, driver.Request{Dockerfile: bad, ContextDir: dir, Push: true, Tags: []string{"x/y:z"}}, nil)
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "push") {
		t.Errorf("push on the engine: err = %v, want ErrUnsupported naming push", err)
	}
	_, err = b.Build(ctx, driver.Request{Dockerfile: bad, ContextDir: dir,
		CacheTo: []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:1/c"}}}}, nil)
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "cache-to type=registry") {
		t.Errorf("registry cache export on the engine: err = %v, want ErrUnsupported naming cache-to", err)
	}

	sock := filepath.Join(t.TempDir(), "nobody.sock")
	gone := bkBuilder(t, driver.Config{BuildKitAddr: "unix://" + sock})
	err = gone.Check(ctx)
	if !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "BUILDKIT_HOST") {
		t.Errorf("unreachable: err = %v, want ErrDaemonUnreachable naming %s and BUILDKIT_HOST", err, sock)
	}
	t.Logf("unreachable: %v", err)
	_, err = gone.Build(ctx, driver.Request{Dockerfile: bad, ContextDir: dir}, nil)
	if !errors.Is(err, driver.ErrDaemonUnreachable) {
		t.Errorf("build on an unreachable daemon: err = %v, want ErrDaemonUnreachable", err)
	}
	noEngine := bkBuilder(t, driver.Config{DockerHost: "unix://" + sock})
	if err := noEngine.Check(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), sock) ||
		!strings.Contains(err.Error(), "DOCKER_HOST") {
		t.Errorf("unreachable engine: err = %v, want ErrDaemonUnreachable naming %s and DOCKER_HOST", err, sock)
	}
}

// sleepDockerfile has a RUN that takes long enough to be interrupted.
const sleepDockerfile = testenv.BusyboxDockerfile + "RUN echo started && sleep 60 && echo done > /done\n"

// buildInBackground starts a build of sleepDockerfile and returns its
// recorder and a channel with its error.
func buildInBackground(ctx context.Context, t *testing.T, b driver.Builder) (*recorder, <-chan error) {
	t.Helper()
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": sleepDockerfile})
	rec := &recorder{}
	errc := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, NoLoad: true, NoCache: true}, rec)
		errc <- err
	}()
	return rec, errc
}

// waitFor polls cond every 50ms up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBuildkitCancel cancels builds during a long RUN, on a buildkitd and
// on the engine's BuildKit. The RUN first outlives the driver's health
// watch window, which must not take a busy daemon for a dead one; then
// the build returns ErrCanceled quickly and buildkitd stops the step.
func TestBuildkitCancel(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{})
	for _, tc := range []struct {
		name string
		cfg  driver.Config
	}{{"buildkitd", driver.Config{BuildKitAddr: bk.Addr}}, {"engine", driver.Config{}}} {
		t.Run(tc.name, func(t *testing.T) {
			b := bkBuilder(t, tc.cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec, errc := buildInBackground(ctx, t, b)
			waitFor(t, time.Minute, "the RUN to start", func() bool { return rec.started("sleep 60") })
			select {
			case err := <-errc:
				t.Fatalf("build ended while its RUN slept: %v", err)
			case <-time.After(5 * time.Second):
			}
			if tc.cfg.BuildKitAddr != "" && len(bk.RunningSteps()) == 0 {
				t.Fatal("buildkitd runs no step while the RUN sleeps: cannot check that cancel stops it")
			}
			cancel()
			start := time.Now()
			select {
			case err := <-errc:
				if !errors.Is(err, driver.ErrCanceled) {
					t.Errorf("canceled build: err = %v, want ErrCanceled", err)
				}
			case <-time.After(15 * time.Second):
				t.Fatal("build still running 15s after cancel")
			}
			t.Logf("build returned %v after cancel", time.Since(start).Round(time.Millisecond))
			if tc.cfg.BuildKitAddr != "" {
				waitFor(t, 10*time.Second, "buildkitd to stop the canceled step", func() bool { return len(bk.RunningSteps()) == 0 })
			}
		})
	}
}

// TestBuildkitDaemonDies hangs the daemon (SIGSTOP) during a build, which
// must fail within 10s as unreachable, then kills and restarts it: the
// same Builder reconnects.
func TestBuildkitDaemonDies(t *testing.T) {
	bk := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{})
	b := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rec, errc := buildInBackground(ctx, t, b)
	waitFor(t, time.Minute, "the RUN to start", func() bool { return rec.started("sleep 60") })
	bk.Freeze()
	start := time.Now()
	select {
	case err := <-errc:
		if !errors.Is(err, driver.ErrDaemonUnreachable) {
			t.Errorf("build on a hung daemon: err = %v, want ErrDaemonUnreachable", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("build on a hung daemon failed after %v, want under 10s", d)
		}
		t.Logf("hung daemon: build failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(20 * time.Second):
		t.Fatal("build still waiting 20s after the daemon hung")
	}

	bk.Kill()
	rec, errc = buildInBackground(ctx, t, b)
	if err := <-errc; !errors.Is(err, driver.ErrDaemonUnreachable) {
		t.Errorf("build on a killed daemon: err = %v, want ErrDaemonUnreachable", err)
	}
	if err := bk.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the driver to reconnect", func() bool { return b.Check(ctx) == nil })
}

// TestBuildkitSSHAndOutputs forwards an SSH agent into a RUN and exports
// the result to an OCI archive and a local folder instead of the engine.
func TestBuildkitSSHAndOutputs(t *testing.T) {
	bk := testenv.Buildkitd(t)
	agent := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", agent)
	if err := cmd.Start(); err != nil {
		testenv.Unavailable(t, "no ssh-agent (apt-get install openssh-client): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 5*time.Second, "ssh-agent's socket", func() bool { _, err := os.Stat(agent); return err == nil })

	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile +
		"RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo forwarded > /ssh\n"})
	out := t.TempDir()
	b := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr})
	res, _ := bkBuild(t, b, driver.Request{
		Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir,
		SSH: []driver.SSHSpec{{ID: "default", Paths: []string{agent}}},
		Outputs: []driver.Output{
			{Type: "oci", Attrs: map[string]string{"dest": filepath.Join(out, "image.tar")}},
			{Type: "local", Attrs: map[string]string{"dest": filepath.Join(out, "rootfs")}},
		},
	})
	if got, err := os.ReadFile(filepath.Join(out, "rootfs", "ssh")); err != nil || string(got) != "forwarded\n" {
		t.Errorf("local output /ssh = %q, %v", got, err)
	}
	f, err := os.Open(filepath.Join(out, "image.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := tarContains(f, []byte(`"mediaType":"application/vnd.oci.image.index.v1+json"`)); !ok || err != nil {
		t.Errorf("oci output has no OCI index (%v)", err)
	}
	if !strings.HasPrefix(res.ImageID, "sha256:") || res.Digest == "" {
		t.Errorf("result = %+v, want image ID and manifest digest from the OCI export", res)
	}
}

// TestBuildkitConcurrentAndNoCacheFilter runs builds concurrently on one
// Builder, then rebuilds with one stage's cache disabled.
func TestBuildkitConcurrentAndNoCacheFilter(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	b := bkBuilder(t, driver.Config{BuildKitAddr: bk.Addr})
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": multiStage})
	reqs := make([]driver.Request, 3)
	var wg sync.WaitGroup
	errs := make([]error, len(reqs))
	for i := range reqs {
		reqs[i] = driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir,
			Tags: []string{uniqueTag(t, "conc")}, BuildArgs: map[string]string{"GREETING": fmt.Sprintf("build-%d", i)}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			_, errs[i] = b.Build(ctx, reqs[i], &driver.StepCounter{})
		}()
	}
	wg.Wait()
	for i, req := range reqs {
		if errs[i] != nil {
			t.Fatalf("concurrent build %d: %v", i, errs[i])
		}
		if got := testenv.RunImage(t, req.Tags[0], "cat", "/greeting"); got != fmt.Sprintf("build-%d", i) {
			t.Errorf("build %d: /greeting = %q", i, got)
		}
	}

	req := reqs[0]
	req.NoCacheStages = []string{"gen"}
	_, rec := bkBuild(t, b, req)
	seen := map[string]int{}
	for _, v := range rec.vertexes() {
		stage, _, _ := strings.Cut(v.Name, " ")
		seen[stage]++
		switch {
		case strings.HasPrefix(v.Name, "[gen ") && v.Cached:
			t.Errorf("step %q of the no-cache stage came from cache", v.Name)
		case strings.HasPrefix(v.Name, "[base ") && !v.Cached:
			t.Errorf("step %q of a cached stage was rebuilt", v.Name)
		}
	}
	if seen["[gen"] == 0 || seen["[base"] == 0 {
		t.Errorf("steps by stage = %v, want steps of stages gen and base", seen)
	}
}

// TestBuildkitDockerContainer reaches a buildkitd through a container of
// the engine, as docker-container:// does: the driver runs
// "buildctl dial-stdio" in the container over the engine API. The
// container holds only buildctl and forwards to the shared buildkitd,
// whose socket it mounts, since no buildkit image can be pulled here.
func TestBuildkitDockerContainer(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	bins, err := testenv.BuildkitBins()
	if err != nil {
		t.Fatal(err)
	}
	buildctl, err := os.ReadFile(filepath.Join(bins, "buildctl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile +
		"COPY libs/ /\nCOPY buildctl /usr/bin/buildctl\nENV PATH=/usr/bin:/bin\n"})
	if err := os.WriteFile(filepath.Join(dir, "buildctl"), buildctl, 0o755); err != nil {
		t.Fatal(err)
	}
	copyLibs(t, filepath.Join(bins, "buildctl"), filepath.Join(dir, "libs"))
	image := uniqueTag(t, "buildctl")
	bkBuild(t, bkBuilder(t, driver.Config{}), driver.Request{Dockerfile: filepath.Join(dir, "Dockerfile"), ContextDir: dir, Tags: []string{image}})
	sock := strings.TrimPrefix(bk.Addr, "unix://")
	name := strings.ReplaceAll(strings.TrimPrefix(image, "cb-bk-"), ":", "-")
	testenv.Docker(t, "run", "-d", "--name", name, "-v", filepath.Dir(sock)+":/run/buildkit",
		"-e", "BUILDKIT_HOST=unix:///run/buildkit/"+filepath.Base(sock), image, "sleep", "300")
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", name) })

	b := bkBuilder(t, driver.Config{BuildKitAddr: "docker-container://" + name})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check through docker-container://%s: %v", name, err)
	}
	src := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile + "RUN echo via-container > /via\n"})
	tag := uniqueTag(t, "via-container")
	bkBuild(t, b, driver.Request{Dockerfile: filepath.Join(src, "Dockerfile"), ContextDir: src, Tags: []string{tag}})
	if got := testenv.RunImage(t, tag, "cat", "/via"); got != "via-container" {
		t.Errorf("/via = %q", got)
	}
}

// copyLibs copies the shared libraries bin needs (as ldd lists them) under
// dst at their absolute paths, so bin runs in an image FROM scratch.
func copyLibs(t *testing.T, bin, dst string) {
	t.Helper()
	os.MkdirAll(dst, 0o755)
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return // a static binary needs none
	}
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, "/") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
