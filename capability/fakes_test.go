package capability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// fakeEngine is an image store of tags, for the unit tests of the swap.
type fakeEngine struct {
	mu     sync.Mutex
	tags   map[string]string // name -> ID
	images map[string]bool   // IDs, tagged or not
	// failUntag makes Untag of a name containing it fail.
	failUntag string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{tags: map[string]string{}, images: map[string]bool{}}
}

func (e *fakeEngine) resolve(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		if e.images[ref] {
			return ref
		}
		return ""
	}
	return e.tags[ref]
}

// remove deletes an image, as a prune would.
func (e *fakeEngine) remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.images, id)
	for k, v := range e.tags {
		if v == id {
			delete(e.tags, k)
		}
	}
}

func (e *fakeEngine) ImageID(_ context.Context, ref string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resolve(ref), nil
}

func (e *fakeEngine) Tag(_ context.Context, source, target string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.resolve(source)
	if id == "" {
		return fmt.Errorf("no such image: %s", source)
	}
	e.tags[target] = id
	return nil
}

func (e *fakeEngine) Untag(_ context.Context, ref string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failUntag != "" && strings.Contains(ref, e.failUntag) {
		return fmt.Errorf("engine refused to untag %s", ref)
	}
	delete(e.tags, ref)
	return nil
}

// list renders the tags, sorted, for comparisons.
func (e *fakeEngine) list() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for k, v := range e.tags {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// fakeBuilder "builds" a Dockerfile: one step a parsed instruction, named
// as BuildKit names them; a step whose text holds "exit 3" fails with two
// log lines. The image ID is the digest of the Dockerfile, and the image
// is "loaded" into the engine under the request's tags.
type fakeBuilder struct {
	engine *fakeEngine
	delay  time.Duration
	// fails, when set, also fails the steps it returns true for.
	fails func(dockerfile, step string) bool
	mu    sync.Mutex
	built []string // the Dockerfiles built
}

func (f *fakeBuilder) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "fake"}, nil
}
func (f *fakeBuilder) Check(context.Context) error { return nil }

func (f *fakeBuilder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	data, err := os.ReadFile(req.Dockerfile)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.built = append(f.built, string(data))
	f.mu.Unlock()
	time.Sleep(f.delay)
	p, err := parseDockerfile(req.Dockerfile, data)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i, in := range p.instrs {
		v := driver.Vertex{Digest: fmt.Sprintf("sha256:step%d", i), Name: fmt.Sprintf("[stage-0 %d/%d] %s", i+1, len(p.instrs), squash(in.source)), Started: &now}
		if strings.Contains(in.source, "exit 3") || f.fails != nil && f.fails(string(data), in.source) {
			sink.Send(&driver.Event{Vertexes: []driver.Vertex{v}})
			sink.Send(&driver.Event{Logs: []driver.Log{{Vertex: v.Digest, Data: []byte("starting the tool\nsomething failed: no such thing\n")}}})
			v.Error, v.Completed = "process did not complete successfully: exit code: 3", &now
			sink.Send(&driver.Event{Vertexes: []driver.Vertex{v}})
			return nil, fmt.Errorf("%w: step %q: exit code: 3", driver.ErrBuildFailed, v.Name)
		}
		v.Completed = &now
		sink.Send(&driver.Event{Vertexes: []driver.Vertex{v}})
	}
	id := contentDigest(data)
	f.engine.mu.Lock()
	f.engine.images[id] = true
	for _, t := range req.Tags {
		f.engine.tags[t] = id
	}
	f.engine.mu.Unlock()
	return &driver.Result{ImageID: id, Tags: req.Tags, Steps: driver.StepCount{Total: len(p.instrs)}}, nil
}

// world is a state root, a repo and the fakes, for one test.
type world struct {
	t       *testing.T
	store   *state.Store
	repo    string
	engine  *fakeEngine
	builder *fakeBuilder
	clock   time.Time
}

const repoDockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"

func newWorld(t *testing.T) *world {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte(repoDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newFakeEngine()
	return &world{t: t, store: store, repo: repo, engine: e, builder: &fakeBuilder{engine: e}, clock: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
}

func (w *world) opts(slug string) Options {
	return Options{
		Store: w.store, Plan: &bottle.Plan{Slug: slug, Repo: w.repo, Context: w.repo},
		Builder: w.builder, Engine: w.engine, User: "tester",
		Now: func() time.Time { return w.clock },
	}
}

func (w *world) bottle(slug string) *state.Bottle {
	b, err := w.store.Bottle(slug)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) add(slug, name, instructions string) *Result {
	w.t.Helper()
	res, err := Add(context.Background(), w.opts(slug), Capability{Name: name, Instructions: instructions, Reason: "needed for " + name})
	if err != nil {
		w.t.Fatalf("Add(%s): %v", name, err)
	}
	return res
}

func (w *world) file(slug, name string) string {
	data, ok, err := w.bottle(slug).ReadFileAt(name)
	if err != nil {
		w.t.Fatal(err)
	}
	if !ok {
		return "<absent>"
	}
	return string(data)
}

func (w *world) names(slug string) []string {
	st, err := Inspect(w.store, slug, w.repo)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, c := range st.Capabilities {
		out = append(out, c.Name)
	}
	return out
}

// stateTree lists the bottle's files and their content, but not the lock
// file (taking the lock is not a change).
func (w *world) stateTree(slug string) string {
	w.t.Helper()
	dir := w.bottle(slug).Dir()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == state.StateLockName {
			return nil
		}
		data, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+"\n"+string(data))
		return nil
	})
	return strings.Join(out, "\n====\n")
}
