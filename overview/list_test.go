package overview

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

// world is a state root, a repo and a fake engine.
type world struct {
	t      *testing.T
	store  *state.Store
	repo   string
	engine *fakeEngine
}

func newWorld(t *testing.T) *world {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/busybox\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, store: store, repo: repo, engine: newFakeEngine()}
}

func (w *world) opts() Options {
	return Options{Store: w.store, Engine: w.engine, Repo: w.repo, RepoFrom: "test", Now: func() time.Time { return t0 }}
}

func (w *world) bottle(slug string) *state.Bottle {
	b, err := w.store.Bottle(slug)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) override(slug string) {
	w.t.Helper()
	if err := w.bottle(slug).SetOverride([]byte("FROM scratch\n")); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) ask(slug, name string, wait int) *request.Request {
	w.t.Helper()
	r, err := request.NewStore(w.store).Create(context.Background(), slug, bottleapi.CreateRequest{
		Kind: bottleapi.KindCapability, Name: name, Run: []string{"echo " + name}, Reason: "needed", WaitSeconds: wait,
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *world) list() []Row {
	w.t.Helper()
	rows, err := List(context.Background(), w.opts())
	if err != nil {
		w.t.Fatal(err)
	}
	return rows
}

func (w *world) row(slug string) Row {
	w.t.Helper()
	for _, r := range w.list() {
		if r.Slug == slug {
			return r
		}
	}
	w.t.Fatalf("no row for %s", slug)
	return Row{}
}

func running(slug string, started time.Time, labels map[string]string) ContainerInfo {
	l := map[string]string{bottle.SlugLabel: slug}
	for k, v := range labels {
		l[k] = v
	}
	return ContainerInfo{ID: "c-" + slug, Name: bottle.ContainerName(slug), State: "running", Image: "img", Labels: l, StartedAt: started}
}

func TestStatus(t *testing.T) {
	cases := []struct {
		name  string
		setup func(w *world)
		want  Status
	}{
		{"state only", func(w *world) { w.override("demo") }, Stopped},
		{"exited container", func(w *world) {
			c := running("demo", t0, nil)
			c.State = "exited"
			w.engine.addContainer(c)
		}, Stopped},
		{"running", func(w *world) { w.engine.addContainer(running("demo", t0.Add(-time.Hour), nil)) }, Running},
		{"pending request wins over running", func(w *world) {
			w.engine.addContainer(running("demo", t0, nil))
			w.ask("demo", "jq", 600)
		}, Waiting},
		{"overdue request is not waited for", func(w *world) {
			w.engine.addContainer(running("demo", t0, nil))
			w.ask("demo", "jq", 1) // created now, so overdue at t0 far later
		}, Running},
		{"state lock held is building", func(w *world) {
			w.ask("demo", "jq", 600)
			unlock, err := w.bottle("demo").LockState(context.Background(), nil)
			if err != nil {
				w.t.Fatal(err)
			}
			w.t.Cleanup(unlock)
		}, Building},
		{"state lock released", func(w *world) {
			w.ask("demo", "jq", 600)
			unlock, err := w.bottle("demo").LockState(context.Background(), nil)
			if err != nil {
				w.t.Fatal(err)
			}
			unlock() // the lock file stays, held by nobody
		}, Waiting},
		{"the caller's own build", func(w *world) { w.override("demo") }, Building},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			tc.setup(w)
			o := w.opts()
			if tc.name == "the caller's own build" {
				o.Building = func(slug string) bool { return slug == "demo" }
			}
			if tc.name == "overdue request is not waited for" {
				o.Now = func() time.Time { return time.Now().Add(time.Hour) }
			}
			rows, err := List(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Status != tc.want {
				t.Fatalf("rows = %+v, want one %q", rows, tc.want)
			}
		})
	}
}

// An approval whose build runs makes the bottle building, in this process
// or any other: the request is applying.
func TestApplyingRequestIsBuilding(t *testing.T) {
	w := newWorld(t)
	r := w.ask("demo", "jq", 600)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := request.NewStore(w.store).Approve(context.Background(), request.ApproveOptions{ID: r.ID, By: "op", Applier: blockingApplier{started, release}})
		done <- err
	}()
	<-started
	if got := w.row("demo"); got.Status != Building || got.Pending != 0 {
		t.Errorf("during the approval's build: %+v", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.row("demo"); got.Status != Stopped {
		t.Errorf("after the approval: status %q", got.Status)
	}
}

type blockingApplier struct{ started, release chan struct{} }

func (b blockingApplier) Apply(context.Context, request.ApplyInput) (request.ApplyResult, error) {
	close(b.started)
	<-b.release
	return request.ApplyResult{ImageID: "sha256:new"}, nil
}

func TestRowFields(t *testing.T) {
	w := newWorld(t)
	// alpha: rebuilt, built, running in /work/alpha, with a transcript.
	w.override("alpha")
	w.engine.addImage(bottle.RebuiltImage("alpha"), "sha256:0123456789abcdef", t0.Add(-2*time.Hour), nil)
	w.engine.addContainer(running("alpha", t0.Add(-90*time.Minute), map[string]string{bottle.CwdLabel: "/work/alpha"}))
	if _, err := w.bottle("alpha").SaveTranscript(transcriptTar(t), "/home/node/.claude", false); err != nil {
		t.Fatal(err)
	}
	// beta: no state at all, only a derived image from its last launch.
	w.engine.addImage(bottle.DerivedImage("beta", "/old"), "sha256:old", t0.Add(-3*time.Hour), map[string]string{bottle.CwdLabel: "/old"})
	w.engine.addImage(bottle.DerivedImage("beta", "/new"), "sha256:new", t0.Add(-1*time.Hour), map[string]string{bottle.CwdLabel: "/new"})
	w.engine.addImage(bottle.BaseImage, "sha256:base", t0.Add(-5*time.Hour), nil)
	if err := os.MkdirAll(w.bottle("beta").Dir(), 0o700); err != nil {
		t.Fatal(err)
	}
	// gamma: a container only, with a suggestion from its hook.
	w.engine.addContainer(running("gamma", t0, nil))
	if _, _, err := request.NewStore(w.store).Suggest(context.Background(), "gamma", bottleapi.Suggestion{Kind: bottleapi.KindCapability, Name: "jq", Tool: "Bash", Command: "jq .", Error: "jq: command not found"}, request.OriginHook); err != nil {
		t.Fatal(err)
	}

	rows := w.list()
	if len(rows) != 3 || rows[0].Slug != "alpha" || rows[1].Slug != "beta" || rows[2].Slug != "gamma" {
		t.Fatalf("rows = %+v", rows)
	}
	a, b, g := rows[0], rows[1], rows[2]
	if a.Image.Kind != KindRebuilt || a.Image.Tag != bottle.RebuiltImage("alpha") || a.Image.ShortID() != "0123456789ab" || a.Image.Age(t0) != 2*time.Hour {
		t.Errorf("alpha image = %+v", a.Image)
	}
	if a.Cwd != "/work/alpha" || a.CwdFrom != CwdContainer || a.Uptime(t0) != 90*time.Minute || a.Status != Running {
		t.Errorf("alpha = %+v", a)
	}
	if a.Transcript == nil || a.Transcript.Files != 2 || a.Transcript.Bytes != int64(len("hello")+len("world!")) {
		t.Errorf("alpha transcript = %+v", a.Transcript)
	}
	if b.Image.Kind != KindBase || b.Image.ID != "sha256:base" || b.Cwd != "/new" || b.CwdFrom != CwdLastImage || b.Uptime(t0) != 0 || b.Status != Stopped {
		t.Errorf("beta = %+v", b)
	}
	if g.Suggested != 1 || g.Pending != 0 || g.Status != Running || g.Container == nil || g.Container.Name != "claude-bottle-gamma" {
		t.Errorf("gamma = %+v", g)
	}
}

func transcriptTar(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range map[string]string{"a.jsonl": "hello", "projects/b.jsonl": "world!"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// Capabilities and drift are capability.Inspect's, on the options' repo.
func TestCapabilitiesAndDrift(t *testing.T) {
	w := newWorld(t)
	p, err := bottle.Resolve(w.store, bottle.Options{Slug: "demo", Repo: w.repo, RepoFrom: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jq", "curl"} {
		if _, err := capability.Add(context.Background(), capability.Options{Store: w.store, Plan: p, NoBuild: true, User: "op"},
			capability.Capability{Name: name, Instructions: "RUN echo " + name}); err != nil {
			t.Fatal(err)
		}
	}
	r := w.row("demo")
	if r.Capabilities != 2 || r.Drift.Stale || !r.Drift.NeedsBuild || !strings.Contains(r.Drift.Hint, "claude-bottle build demo") || r.Image.Kind != KindRebuilt {
		t.Errorf("after two adds: %+v", r)
	}
	if err := os.WriteFile(filepath.Join(w.repo, "Dockerfile"), []byte("FROM scratch\nCOPY busybox /bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = w.row("demo")
	if !r.Drift.Stale || r.Drift.StaleSince == nil || !strings.Contains(r.Drift.Hint, "capability rebase demo") {
		t.Errorf("after the repo's Dockerfile changed: %+v", r.Drift)
	}
}

// A bottle whose files cannot be read still gets its row, saying what is
// wrong; the engine being down fails the list.
func TestProblemsAndEngineDown(t *testing.T) {
	w := newWorld(t)
	w.ask("demo", "jq", 600)
	w.override("other")
	if err := os.WriteFile(filepath.Join(w.bottle("demo").Dir(), capability.ListFile), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := w.list()
	if len(rows) != 2 || rows[0].Slug != "demo" || len(rows[0].Problems) == 0 || !strings.Contains(rows[0].Problems[0], "damaged") || rows[0].Pending != 1 {
		t.Errorf("rows = %+v", rows)
	}
	if len(rows[1].Problems) != 0 {
		t.Errorf("the other bottle has problems: %v", rows[1].Problems)
	}
	w.engine.err = errEngineDown
	if _, err := List(context.Background(), w.opts()); !errors.Is(err, errEngineDown) {
		t.Errorf("engine down: %v", err)
	}
}

func TestOne(t *testing.T) {
	w := newWorld(t)
	w.override("demo")
	if r, err := One(context.Background(), w.opts(), "demo"); err != nil || r.Slug != "demo" {
		t.Errorf("One(demo) = %+v, %v", r, err)
	}
	var nf *NotFoundError
	if _, err := One(context.Background(), w.opts(), "nosuch"); !errors.As(err, &nf) {
		t.Errorf("One(nosuch) = %v", err)
	}
	if _, err := One(context.Background(), w.opts(), "../etc"); !errors.Is(err, state.ErrInvalidSlug) {
		t.Errorf("One(../etc) = %v", err)
	}
}
