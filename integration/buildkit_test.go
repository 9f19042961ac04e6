//go:build linux

package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
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
		"Dockerfile":    multiStage,
		".dockerignore": "ignored-by-root.txt\n",
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
	if !strings.HasPrefix(res.ImageID, "sha256:") || res.Steps.Total == 0 {
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
