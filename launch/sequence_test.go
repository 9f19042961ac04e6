package launch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// newPlan resolves the plan of bottle "my-agent" on a fresh state root
// and a repo whose Dockerfile is dockerfileText, with cwd when not empty.
func newPlan(t *testing.T, dockerfileText, cwd string) *bottle.Plan {
	t.Helper()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte(dockerfileText), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := bottle.Resolve(store, bottle.Options{Slug: "my-agent", Repo: repo, RepoFrom: "--repo", Cwd: cwd, Driver: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// unconnected is an engine client that has never reached an engine: the
// tests below must not need one.
func unconnected(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.New(client.WithHost("unix://" + filepath.Join(t.TempDir(), "no-engine.sock")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestSequence(t *testing.T) {
	cwd := t.TempDir()
	opts := driver.Request{Dockerfile: "/ignored", Tags: []string{"ignored"}, BuildArgs: map[string]string{"V": "1"}}
	ro := RunOptions{Cmd: []string{"sh"}, Env: []string{"K=v"}, TranscriptDir: "/home/node/.claude", Resume: true}
	tests := []struct {
		name      string
		cwd       string
		noBuild   bool
		wantImage string // the image run: plan's or derived
		derive    bool
	}{
		{"build and run", "", false, "claude-bottle:latest", false},
		{"no build", "", true, "claude-bottle:latest", false},
		{"cwd: build, derive, run the derived image", cwd, false, bottle.DerivedImage("my-agent", cwd), true},
		{"cwd without build still derives", cwd, true, bottle.DerivedImage("my-agent", cwd), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlan(t, "FROM scratch\n", tc.cwd)
			st := Sequence(PrepareOptions{Plan: p, Build: opts, NoBuild: tc.noBuild}, ro)
			if st.Driver != "fake" {
				t.Errorf("Driver = %q", st.Driver)
			}
			if tc.noBuild != (st.Build == nil) {
				t.Fatalf("Build = %+v with NoBuild %v", st.Build, tc.noBuild)
			}
			if b := st.Build; b != nil && (b.Dockerfile != p.Dockerfile || b.ContextDir != p.Context || len(b.Tags) != 1 || b.Tags[0] != p.Image || b.BuildArgs["V"] != "1") {
				t.Errorf("Build = %+v, want the plan's Dockerfile, context and tag with the options", b)
			}
			if tc.derive != (st.Derive != nil) {
				t.Fatalf("Derive = %+v, want one: %v", st.Derive, tc.derive)
			}
			if d := st.Derive; d != nil && (*d != Derive{Base: p.Image, Tag: p.DerivedImage, Cwd: p.Cwd}) {
				t.Errorf("Derive = %+v", d)
			}
			r := st.Run
			if r.Image != tc.wantImage || r.Slug != "my-agent" || r.Cwd != tc.cwd || r.Bottle != p.State ||
				r.TranscriptDir != ro.TranscriptDir || !r.Resume || r.Cmd[0] != "sh" || r.Env[0] != "K=v" {
				t.Errorf("Run = %+v", r)
			}
		})
	}
}

// fakeBuilder stands in for a driver in these unit tests of Prepare.
type fakeBuilder struct {
	mu   sync.Mutex
	reqs []driver.Request
	err  error
}

func (f *fakeBuilder) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "fake"}, nil
}
func (f *fakeBuilder) Check(context.Context) error { return nil }

func (f *fakeBuilder) Build(_ context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	sink.Send(&driver.Event{Vertexes: []driver.Vertex{{Digest: "d", Name: "[1/1] FROM scratch"}}})
	if f.err != nil {
		return nil, f.err
	}
	return &driver.Result{ImageID: "sha256:abc", Tags: req.Tags}, nil
}

func TestPrepareBuildsThePlan(t *testing.T) {
	p := newPlan(t, "FROM scratch\n", "")
	b := &fakeBuilder{}
	var events int
	sink := driver.SinkFunc(func(*driver.Event) { events++ })
	prep, err := Prepare(context.Background(), PrepareOptions{Plan: p, Builder: b, Sink: sink, Engine: unconnected(t),
		Build: driver.Request{NoCache: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.reqs) != 1 || b.reqs[0].Dockerfile != p.Dockerfile || !b.reqs[0].NoCache {
		t.Fatalf("builds = %+v", b.reqs)
	}
	if prep.Image != p.Image || prep.Built == nil || prep.Built.ImageID != "sha256:abc" || prep.DerivedID != "" || events != 1 {
		t.Errorf("Prepared = %+v, %d events", prep, events)
	}
}

func TestPrepareRefuses(t *testing.T) {
	buildErr := errors.New("RUN false: exit code 1")
	tests := []struct {
		name       string
		dockerfile string
		builder    *fakeBuilder
		opts       func(po *PrepareOptions)
		class      error
		want       []string
		builds     int
	}{
		{"bad Dockerfile: no driver is asked", "FROM scratch\nFROBNICATE\n", &fakeBuilder{}, nil,
			dockerfile.ErrInvalid, []string{"line 2", "FROBNICATE"}, 0},
		{"failed build: named with the bottle", "FROM scratch\n", &fakeBuilder{err: buildErr}, nil,
			buildErr, []string{"building bottle my-agent", "claude-bottle:latest", "RUN false"}, 1},
		{"no plan", "FROM scratch\n", &fakeBuilder{}, func(po *PrepareOptions) { po.Plan = nil },
			nil, []string{"no plan"}, 0},
		{"a plan not resolved", "FROM scratch\n", &fakeBuilder{}, func(po *PrepareOptions) { po.Plan = &bottle.Plan{Slug: "x"} },
			nil, []string{"bottle.Resolve"}, 0},
		{"no engine", "FROM scratch\n", &fakeBuilder{}, func(po *PrepareOptions) { po.Engine = nil },
			nil, []string{"no Docker engine"}, 0},
		{"no builder", "FROM scratch\n", nil, nil, nil, []string{"no driver"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			po := PrepareOptions{Plan: newPlan(t, tc.dockerfile, ""), Engine: unconnected(t)}
			if tc.builder != nil {
				po.Builder = tc.builder
			}
			if tc.opts != nil {
				tc.opts(&po)
			}
			prep, err := Prepare(context.Background(), po)
			if prep != nil || err == nil {
				t.Fatalf("Prepare = %+v, %v; want an error", prep, err)
			}
			if tc.class != nil && !errors.Is(err, tc.class) {
				t.Errorf("err = %v, want %v", err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tc.builder != nil && len(tc.builder.reqs) != tc.builds {
				t.Errorf("%d builds, want %d", len(tc.builder.reqs), tc.builds)
			}
		})
	}
}

// TestPrepareNoBuild: with NoBuild nothing is checked or built (the image
// is run as the engine holds it), and no driver is needed.
func TestPrepareNoBuild(t *testing.T) {
	p := newPlan(t, "FROM scratch\nFROBNICATE\n", "")
	prep, err := Prepare(context.Background(), PrepareOptions{Plan: p, NoBuild: true, Engine: unconnected(t)})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Image != p.Image || prep.Built != nil {
		t.Errorf("Prepared = %+v", prep)
	}
}
