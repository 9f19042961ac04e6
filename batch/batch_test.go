package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
)

// recorder is a Builder that records the builds it is asked for; it stands
// in for a real driver in this unit test of the batching logic only.
type recorder struct {
	mu       sync.Mutex
	built    []string
	reqs     []driver.Request
	running  atomic.Int32
	peak     atomic.Int32
	failFor  string
	duration time.Duration
	// features are what Info declares; cached says every step is cached.
	features map[driver.Feature]bool
	cached   bool
	infos    atomic.Int32
}

func (r *recorder) Info(context.Context) (driver.Info, error) {
	r.infos.Add(1)
	return driver.Info{Name: "rec", Features: r.features}, nil
}
func (r *recorder) Check(context.Context) error { return nil }

func (r *recorder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	r.mu.Lock()
	r.built = append(r.built, req.Tags[0])
	r.reqs = append(r.reqs, req)
	calls := len(r.built)
	r.mu.Unlock()
	select {
	case <-time.After(r.duration):
	case <-ctx.Done():
		return nil, driver.Canceled(ctx, ctx.Err())
	}
	// Progress as BuildKit sends it: Dockerfile steps, and steps of its
	// own whose number changes from build to build.
	t := time.Now()
	ev := &driver.Event{Vertexes: []driver.Vertex{
		{Digest: "sha256:1", Name: "[1/2] COPY busybox /bin/busybox", Completed: &t, Cached: true},
		{Digest: "sha256:2", Name: "[2/2] RUN false", Completed: &t, Cached: r.cached},
	}}
	for i := range calls {
		ev.Vertexes = append(ev.Vertexes, driver.Vertex{Digest: fmt.Sprintf("sha256:x%d", i), Name: "[internal] load metadata", Completed: &t})
	}
	if req.Tags[0] == r.failFor {
		ev.Vertexes[1].Error = "process did not complete successfully: exit code: 1"
		sink.Send(ev)
		return nil, fmt.Errorf("%w: RUN false\nexit code 1", driver.ErrBuildFailed)
	}
	sink.Send(ev)
	return &driver.Result{ImageID: "sha256:" + req.Tags[0], Digest: "sha256:m-" + req.Tags[0], Steps: driver.StepCount{Total: 2 + calls, Cached: 1}}, nil
}

// plan makes a bottle plan whose Dockerfile exists under root, so the
// batch's own Dockerfile check passes.
func plan(t *testing.T, root, slug, dockerfile, image string) *bottle.Plan {
	t.Helper()
	path := filepath.Join(root, dockerfile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("FROM scratch\nCOPY busybox /bin/busybox\nRUN false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &bottle.Plan{Slug: slug, Dockerfile: path, Context: root, Image: image}
}

func TestBuildSharesOneImageAmongBottles(t *testing.T) {
	rec, root := &recorder{}, t.TempDir()
	plans := []*bottle.Plan{
		plan(t, root, "a", "/repo/Dockerfile", "claude-bottle:latest"),
		plan(t, root, "b", "/repo/Dockerfile", "claude-bottle:latest"),
		plan(t, root, "c", "/state/c/Dockerfile", "claude-bottle-rebuilt-c:latest"),
	}
	outs := Build(context.Background(), plans, Options{Jobs: 4, Builder: rec, Driver: "rec"})
	if len(rec.built) != 2 {
		t.Fatalf("built %v, want the shared base once and c once", rec.built)
	}
	if outs[1].SharedWith != "a" || outs[1].ImageID != "sha256:claude-bottle:latest" || outs[1].Slug != "b" {
		t.Errorf("b's outcome = %+v, want the image built for a", outs[1])
	}
	if outs[2].ImageID != "sha256:claude-bottle-rebuilt-c:latest" || outs[2].SharedWith != "" {
		t.Errorf("c's outcome = %+v", outs[2])
	}
}

// TestBuildGivesEveryBottleTheOptions: the command's build options reach
// every build, while each bottle's plan keeps its Dockerfile, context and
// tag whatever the options say.
func TestBuildGivesEveryBottleTheOptions(t *testing.T) {
	rec, root := &recorder{}, t.TempDir()
	plans := []*bottle.Plan{plan(t, root, "a", "/a/Dockerfile", "img-a"), plan(t, root, "b", "/b/Dockerfile", "img-b")}
	opts := driver.Request{Dockerfile: "/elsewhere", ContextDir: "/nowhere", Tags: []string{"wrong"},
		BuildArgs: map[string]string{"V": "1"}, NoCache: true, Target: "final"}
	for _, o := range Build(context.Background(), plans, Options{Jobs: 1, Builder: rec, Request: opts}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
	}
	// The builds run in goroutines, so in any order: find each one's
	// plan by the bottle's Dockerfile.
	byDockerfile := map[string]*bottle.Plan{}
	for _, p := range plans {
		byDockerfile[p.Dockerfile] = p
	}
	for i, req := range rec.reqs {
		p, ok := byDockerfile[req.Dockerfile]
		if !ok {
			t.Errorf("build %d of %s, which no plan names", i, req.Dockerfile)
			continue
		}
		if req.Dockerfile != p.Dockerfile || req.ContextDir != p.Context || len(req.Tags) != 1 || req.Tags[0] != p.Image {
			t.Errorf("build %d: %s %s %v; want the plan's %s %s %s", i, req.Dockerfile, req.ContextDir, req.Tags, p.Dockerfile, p.Context, p.Image)
		}
		if req.BuildArgs["V"] != "1" || !req.NoCache || req.Target != "final" {
			t.Errorf("build %d lost the options: %+v", i, req)
		}
	}
	if len(rec.reqs) != 2 {
		t.Fatalf("%d builds, want 2", len(rec.reqs))
	}
}

func TestBuildHonoursJobsAndKeepsGoingAfterAFailure(t *testing.T) {
	rec, root := &recorder{failFor: "img-1", duration: 20 * time.Millisecond}, t.TempDir()
	var plans []*bottle.Plan
	for i := range 6 {
		plans = append(plans, plan(t, root, fmt.Sprintf("b%d", i), fmt.Sprintf("/s/%d/Dockerfile", i), fmt.Sprintf("img-%d", i)))
	}
	outs := Build(context.Background(), plans, Options{Jobs: 2, Builder: rec})
	if got := rec.peak.Load(); got != 2 {
		t.Errorf("peak parallel builds = %d, want 2", got)
	}
	failed := Failed(outs)
	if len(failed) != 1 || failed[0].Slug != "b1" || !errors.Is(failed[0].Err, driver.ErrBuildFailed) {
		t.Fatalf("failed = %+v, want only b1 with ErrBuildFailed", failed)
	}
	// The whole error, on one line: its end holds the exit code.
	if got := failed[0].ErrorLine(); got != "build failed: RUN false exit code 1" {
		t.Errorf("ErrorLine = %q", got)
	}
	if len(rec.built) != 6 {
		t.Errorf("built %d images, want all 6 despite the failure", len(rec.built))
	}
}

func TestBuildCanceledWhileQueued(t *testing.T) {
	rec, root := &recorder{duration: time.Second}, t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	plans := []*bottle.Plan{plan(t, root, "a", "/1", "i1"), plan(t, root, "b", "/2", "i2")}
	start := time.Now()
	outs := Build(ctx, plans, Options{Jobs: 1, Builder: rec})
	if time.Since(start) > 900*time.Millisecond {
		t.Fatalf("Build took %v after cancel", time.Since(start))
	}
	for _, o := range outs {
		if !errors.Is(o.Err, driver.ErrCanceled) || o.OK() || o.Image != "" {
			t.Errorf("%s: %s, err = %v, image %q; want ErrCanceled and no image", o.Slug, o.Status, o.Err, o.Image)
		}
	}
}

func TestBuildRefusesABadDockerfileBeforeTheDriver(t *testing.T) {
	rec, root := &recorder{}, t.TempDir()
	p := plan(t, root, "bad", "state/bad/Dockerfile", "img-bad")
	os.WriteFile(p.Dockerfile, []byte("FROM scratch\nFROBNICATE now\n"), 0o644)
	outs := Build(context.Background(), []*bottle.Plan{p}, Options{Builder: rec})
	if len(rec.built) != 0 {
		t.Fatalf("the driver was asked to build %v", rec.built)
	}
	if err := outs[0].Err; !errors.Is(err, dockerfile.ErrInvalid) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want ErrInvalidDockerfile naming line 2", err)
	}
}
