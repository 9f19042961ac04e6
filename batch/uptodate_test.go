package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/buildkey"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// fakeEngine stands in for the driver and the engine together, for the
// unit test of the up-to-date logic only: every build makes a new image
// ID and puts it under the request's tag, as a load into the engine does.
type fakeEngine struct {
	mu     sync.Mutex
	images map[string]string
	builds int
}

func (e *fakeEngine) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "fake"}, nil
}
func (e *fakeEngine) Check(context.Context) error { return nil }
func (e *fakeEngine) Build(_ context.Context, req driver.Request, _ driver.Sink) (*driver.Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.builds++
	id := fmt.Sprintf("sha256:%064d", e.builds)
	if req.Loads() {
		e.images[req.Tags[0]] = id
	}
	return &driver.Result{ImageID: id}, nil
}

func (e *fakeEngine) list(context.Context) (buildkey.Images, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	im := buildkey.Images{}
	for ref, id := range e.images {
		im.Add(ref, id)
	}
	return im, nil
}

// freshFixture is one bottle with an override over a repo, built once.
type freshFixture struct {
	repo  string
	store *state.Store
	b     *state.Bottle
	eng   *fakeEngine
	o     Options
}

const freshOverride = "FROM base:1\nCOPY . /src\nRUN true\n"

func newFreshFixture(t *testing.T) *freshFixture {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	f := &freshFixture{repo: t.TempDir(), store: store, eng: &fakeEngine{images: map[string]string{"base:1": "sha256:base1"}}}
	f.write(t, "Dockerfile", "FROM scratch\n")
	f.write(t, "app/main.go", "package main\n")
	f.write(t, "app/run.sh", "#!/bin/sh\n")
	f.write(t, "notes.log", "ignored\n")
	f.write(t, ".dockerignore", "*.log\n")
	if f.b, err = store.Bottle("demo"); err != nil {
		t.Fatal(err)
	}
	if err := bottle.SetOverride(f.b, []byte(freshOverride)); err != nil {
		t.Fatal(err)
	}
	f.age(t)
	f.o = Options{Builder: f.eng, Driver: "fake", UpToDate: &UpToDate{Images: f.eng.list, Endpoint: "unix:///run/a.sock"}}
	return f
}

func (f *freshFixture) write(t *testing.T, rel, data string) {
	t.Helper()
	p := filepath.Join(f.repo, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// age sets every file of the repo an hour back, out of the racy window,
// as a repo nobody is editing has them.
func (f *freshFixture) age(t *testing.T) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	filepath.Walk(f.repo, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chtimes(p, old, old)
		}
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
}

// build builds the bottle and returns its outcome.
func (f *freshFixture) build(t *testing.T) Outcome {
	t.Helper()
	p, err := bottle.Resolve(f.store, bottle.Options{Slug: "demo", Repo: f.repo, RepoFrom: "test"})
	if err != nil {
		t.Fatal(err)
	}
	outs := Build(context.Background(), []*bottle.Plan{p}, f.o)
	if !outs[0].OK() || outs[0].RecordErr != nil {
		t.Fatalf("outcome %+v (record: %v)", outs[0], outs[0].RecordErr)
	}
	return outs[0]
}

// Every input of a bottle's image, changed alone, makes the next build
// run; a change the build cannot see (an ignored file) does not.
func TestUpToDateEveryInputTriggersARebuild(t *testing.T) {
	cases := []struct {
		name    string
		change  func(t *testing.T, f *freshFixture)
		rebuild bool
	}{
		{"nothing changed", func(*testing.T, *freshFixture) {}, false},
		{"Dockerfile byte", func(t *testing.T, f *freshFixture) {
			if err := bottle.SetOverride(f.b, []byte(freshOverride+" ")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"build arg", func(_ *testing.T, f *freshFixture) { f.o.Request.BuildArgs = map[string]string{"V": "1"} }, true},
		{"build arg value", func(_ *testing.T, f *freshFixture) { f.o.Request.BuildArgs = map[string]string{"V": "2"} }, true},
		{"target", func(_ *testing.T, f *freshFixture) { f.o.Request.Target = "dev" }, true},
		{"label", func(_ *testing.T, f *freshFixture) { f.o.Request.Labels = map[string]string{"a": "b"} }, true},
		{"secret id", func(_ *testing.T, f *freshFixture) {
			f.o.Request.Secrets = []driver.SecretSpec{{ID: "tok", Env: "TOK"}}
		}, true},
		{"ssh id", func(_ *testing.T, f *freshFixture) { f.o.Request.SSH = []driver.SSHSpec{{ID: "default"}} }, true},
		{"platform", func(_ *testing.T, f *freshFixture) { f.o.Request.Platforms = []string{"linux/arm64"} }, true},
		{"cache from", func(_ *testing.T, f *freshFixture) {
			f.o.Request.CacheFrom = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "r/c"}}}
		}, true},
		{"no-cache", func(_ *testing.T, f *freshFixture) { f.o.Request.NoCache = true }, true},
		{"no-cache-filter", func(_ *testing.T, f *freshFixture) { f.o.Request.NoCacheStages = []string{"x"} }, true},
		{"pull", func(_ *testing.T, f *freshFixture) { f.o.Request.Pull = true }, true},
		{"force", func(_ *testing.T, f *freshFixture) { f.o.UpToDate.Force = true }, true},
		{"context file content", func(t *testing.T, f *freshFixture) { f.write(t, "app/main.go", "package main // 2\n") }, true},
		{"context file content, same size", func(t *testing.T, f *freshFixture) { f.write(t, "app/main.go", "package mainX\n") }, true},
		{"context file mtime", func(t *testing.T, f *freshFixture) {
			now := time.Now().Add(-time.Minute)
			if err := os.Chtimes(filepath.Join(f.repo, "app/main.go"), now, now); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"context file mode", func(t *testing.T, f *freshFixture) {
			if err := os.Chmod(filepath.Join(f.repo, "app/run.sh"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"context file added", func(t *testing.T, f *freshFixture) { f.write(t, "app/new.go", "package main\n") }, true},
		{"context file removed", func(t *testing.T, f *freshFixture) {
			if err := os.Remove(filepath.Join(f.repo, "app/run.sh")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"context symlink added", func(t *testing.T, f *freshFixture) {
			if err := os.Symlink("main.go", filepath.Join(f.repo, "app/link")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"ignored file changed", func(t *testing.T, f *freshFixture) { f.write(t, "notes.log", "changed, and ignored\n") }, false},
		{"ignored file added", func(t *testing.T, f *freshFixture) { f.write(t, "other.log", "ignored too\n") }, false},
		{".dockerignore changed", func(t *testing.T, f *freshFixture) { f.write(t, ".dockerignore", "*.log\n*.tmp\n") }, true},
		{"per-Dockerfile ignore file added", func(t *testing.T, f *freshFixture) {
			if err := os.WriteFile(filepath.Join(f.b.Dir(), "Dockerfile.dockerignore"), []byte("app/run.sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"FROM image ID changed", func(_ *testing.T, f *freshFixture) { f.eng.images["base:1"] = "sha256:base2" }, true},
		{"FROM image removed", func(_ *testing.T, f *freshFixture) { delete(f.eng.images, "base:1") }, true},
		{"driver", func(_ *testing.T, f *freshFixture) { f.o.Driver = "other" }, true},
		{"endpoint", func(_ *testing.T, f *freshFixture) { f.o.UpToDate.Endpoint = "unix:///run/b.sock" }, true},
		{"tag moved", func(_ *testing.T, f *freshFixture) {
			f.eng.images[bottle.RebuiltImage("demo")] = "sha256:elsewhere"
		}, true},
		{"image removed", func(_ *testing.T, f *freshFixture) { delete(f.eng.images, bottle.RebuiltImage("demo")) }, true},
		{"record removed", func(t *testing.T, f *freshFixture) {
			if err := os.RemoveAll(filepath.Join(f.b.Dir(), "build")); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFreshFixture(t)
			first := f.build(t)
			if first.Status == StatusUpToDate || f.eng.builds != 1 {
				t.Fatalf("first build: %s after %d builds, want one build", first.Status, f.eng.builds)
			}
			if again := f.build(t); again.Status != StatusUpToDate || again.ImageID != first.ImageID || f.eng.builds != 1 {
				t.Fatalf("unchanged: %s %s after %d builds, want up to date as %s", again.Status, again.ImageID, f.eng.builds, first.ImageID)
			}
			c.change(t, f)
			out := f.build(t)
			if rebuilt := f.eng.builds == 2; rebuilt != c.rebuild {
				t.Fatalf("after the change: %s, %d builds; want rebuilt=%v", out.Status, f.eng.builds, c.rebuild)
			}
			if c.rebuild && out.Status == StatusUpToDate {
				t.Fatalf("rebuilt but reported %s", out.Status)
			}
		})
	}
}

// A context file written within the racy window is not trusted for a
// record: the next build runs again, and once the file is older the
// build after it is up to date.
func TestUpToDateRacyContextIsNotRecorded(t *testing.T) {
	f := newFreshFixture(t)
	f.write(t, "app/main.go", "package main // just now\n")
	f.build(t)
	if out := f.build(t); out.Status == StatusUpToDate || f.eng.builds != 2 {
		t.Fatalf("a file written just now: %s after %d builds, want built again", out.Status, f.eng.builds)
	}
	f.age(t)
	f.build(t)
	if out := f.build(t); out.Status != StatusUpToDate || f.eng.builds != 3 {
		t.Fatalf("once old: %s after %d builds, want up to date after 3", out.Status, f.eng.builds)
	}
}

// A bottle whose FROM is the tag of another bottle in the same batch is
// not up to date while that bottle builds: its base may move under it.
func TestUpToDateWaitsForABaseBuiltInTheBatch(t *testing.T) {
	f := newFreshFixture(t)
	child, err := f.store.Bottle("child")
	if err != nil {
		t.Fatal(err)
	}
	if err := bottle.SetOverride(child, []byte("FROM "+bottle.RebuiltImage("demo")+"\nRUN true\n")); err != nil {
		t.Fatal(err)
	}
	buildBoth := func() []Outcome {
		var plans []*bottle.Plan
		for _, slug := range []string{"demo", "child"} {
			p, err := bottle.Resolve(f.store, bottle.Options{Slug: slug, Repo: f.repo, RepoFrom: "test"})
			if err != nil {
				t.Fatal(err)
			}
			plans = append(plans, p)
		}
		return Build(context.Background(), plans, f.o)
	}
	buildBoth()
	buildBoth() // the child now keys on the demo image the first batch made
	if outs := buildBoth(); outs[0].Status != StatusUpToDate || outs[1].Status != StatusUpToDate {
		t.Fatalf("unchanged: %s, %s; want both up to date", outs[0].Status, outs[1].Status)
	}
	if err := bottle.SetOverride(f.b, []byte(freshOverride+"RUN echo 2\n")); err != nil {
		t.Fatal(err)
	}
	if outs := buildBoth(); outs[0].Status == StatusUpToDate || outs[1].Status == StatusUpToDate {
		t.Fatalf("base changed: %s, %s; want both built", outs[0].Status, outs[1].Status)
	}
}

// A build that does not load its image into the engine (an output, a
// push) is never skipped, and records nothing.
func TestUpToDateNeverSkipsOutputsOrPushes(t *testing.T) {
	f := newFreshFixture(t)
	f.build(t)
	f.o.Request.Outputs = []driver.Output{{Type: "oci", Attrs: map[string]string{"dest": filepath.Join(t.TempDir(), "x.tar")}}}
	for i := range 2 {
		if out := f.build(t); out.Status == StatusUpToDate {
			t.Fatalf("build %d with an output: up to date", i)
		}
	}
	if f.eng.builds != 3 {
		t.Fatalf("%d builds, want 3", f.eng.builds)
	}
}

// The single-bottle Builder (launch's) opens no driver when the image is
// up to date, and opens it, builds and records when it is not.
func TestUpToDateBuilderOpensTheDriverOnlyWhenNeeded(t *testing.T) {
	f := newFreshFixture(t)
	opened := 0
	launchBuild := func() *driver.Result {
		t.Helper()
		p, err := bottle.Resolve(f.store, bottle.Options{Slug: "demo", Repo: f.repo, RepoFrom: "test"})
		if err != nil {
			t.Fatal(err)
		}
		b := f.o.UpToDate.Builder(p, "fake", func(context.Context) (driver.Builder, error) {
			opened++
			return f.eng, nil
		})
		res, err := b.Build(context.Background(), p.Request(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := launchBuild()
	if opened != 1 || f.eng.builds != 1 {
		t.Fatalf("first: opened %d, built %d; want 1, 1", opened, f.eng.builds)
	}
	if again := launchBuild(); opened != 1 || f.eng.builds != 1 || again.ImageID != first.ImageID {
		t.Fatalf("unchanged: opened %d, built %d, image %s; want the driver left closed and %s", opened, f.eng.builds, again.ImageID, first.ImageID)
	}
	f.write(t, "app/main.go", "package main // changed\n")
	if launchBuild(); opened != 2 || f.eng.builds != 2 {
		t.Fatalf("changed: opened %d, built %d; want 2, 2", opened, f.eng.builds)
	}
}

// A batch asks the engine for its images once, however many bottles.
func TestUpToDateListsImagesOnceABatch(t *testing.T) {
	f := newFreshFixture(t)
	var plans []*bottle.Plan
	for _, slug := range []string{"demo", "b2", "b3"} {
		b, err := f.store.Bottle(slug)
		if err != nil {
			t.Fatal(err)
		}
		if err := bottle.SetOverride(b, []byte(freshOverride+"LABEL s="+slug+"\n")); err != nil {
			t.Fatal(err)
		}
		p, err := bottle.Resolve(f.store, bottle.Options{Slug: slug, Repo: f.repo, RepoFrom: "test"})
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, p)
	}
	lists := 0
	f.o.UpToDate.Images = func(ctx context.Context) (buildkey.Images, error) {
		lists++
		return f.eng.list(ctx)
	}
	Build(context.Background(), plans, f.o)
	outs := Build(context.Background(), plans, f.o)
	for _, o := range outs {
		if o.Status != StatusUpToDate {
			t.Errorf("%s: %s, want up-to-date", o.Slug, o.Status)
		}
	}
	if lists != 2 {
		t.Errorf("%d image lists for two batches of three bottles, want 2", lists)
	}
}
