package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

// fakeTags is an engine's tag table, for the guard's unit tests.
type fakeTags struct {
	mu      sync.Mutex
	tags    map[string]string
	failOn  string // a tag whose restore fails
	seeErr  error  // imageID fails with it
	actions []string
}

func (f *fakeTags) imageID(_ context.Context, ref string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seeErr != nil {
		return "", f.seeErr
	}
	return f.tags[ref], nil
}

func (f *fakeTags) tag(_ context.Context, id, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref == f.failOn {
		return errors.New("engine said no")
	}
	f.actions = append(f.actions, "tag "+ref+"="+id)
	f.tags[ref] = id
	return nil
}

func (f *fakeTags) untag(_ context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ref == f.failOn {
		return errors.New("engine said no")
	}
	f.actions = append(f.actions, "untag "+ref)
	delete(f.tags, ref)
	return nil
}

// move points ref at id, as a driver that tags by itself does.
func (f *fakeTags) move(ref, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tags[ref] = id
}

func TestTagGuard(t *testing.T) {
	buildErr := fmt.Errorf("%w: step 3", driver.ErrBuildFailed)
	tests := []struct {
		name    string
		req     driver.Request
		engine  *fakeTags
		moves   map[string]string // what the driver did before it failed
		want    map[string]string // the tags afterwards
		actions string
		errHas  string
	}{
		{"moved back", driver.Request{Tags: []string{"a:1"}}, &fakeTags{tags: map[string]string{"a:1": "sha256:old"}},
			map[string]string{"a:1": "sha256:new"}, map[string]string{"a:1": "sha256:old"}, "tag a:1=sha256:old", ""},
		{"new tag removed", driver.Request{Tags: []string{"a:1"}}, &fakeTags{tags: map[string]string{}},
			map[string]string{"a:1": "sha256:new"}, map[string]string{}, "untag a:1", ""},
		{"untouched left alone", driver.Request{Tags: []string{"a:1", "b:2"}}, &fakeTags{tags: map[string]string{"a:1": "sha256:old"}},
			nil, map[string]string{"a:1": "sha256:old"}, "", ""},
		{"no load, no guard", driver.Request{Tags: []string{"a:1"}, NoLoad: true}, &fakeTags{tags: map[string]string{"a:1": "sha256:old"}},
			map[string]string{"a:1": "sha256:new"}, map[string]string{"a:1": "sha256:new"}, "", ""},
		{"restore fails", driver.Request{Tags: []string{"a:1", "b:2"}}, &fakeTags{tags: map[string]string{"a:1": "sha256:old"}, failOn: "a:1"},
			map[string]string{"a:1": "sha256:new", "b:2": "sha256:new"}, map[string]string{"a:1": "sha256:new"}, "untag b:2", `tag "a:1": engine said no`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newTagGuard(context.Background(), tc.engine, slog.New(slog.DiscardHandler), tc.req)
			for ref, id := range tc.moves {
				tc.engine.move(ref, id)
			}
			err := g.restore(buildErr)
			if !errors.Is(err, driver.ErrBuildFailed) {
				t.Errorf("restore lost the build's error: %v", err)
			}
			if tc.errHas == "" && err != buildErr || tc.errHas != "" && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("restore = %v, want the build's error with %q", err, tc.errHas)
			}
			if got := strings.Join(tc.engine.actions, ", "); got != tc.actions {
				t.Errorf("actions %q, want %q", got, tc.actions)
			}
			if fmt.Sprint(tc.engine.tags) != fmt.Sprint(tc.want) {
				t.Errorf("tags %v, want %v", tc.engine.tags, tc.want)
			}
		})
	}
	// An engine that cannot be asked: no guard, the build's error as is.
	g := newTagGuard(context.Background(), &fakeTags{seeErr: errors.New("no engine")}, slog.New(slog.DiscardHandler), driver.Request{Tags: []string{"a"}})
	if g != nil || g.restore(buildErr) != buildErr {
		t.Errorf("guard without an engine: %+v", g)
	}
}

// TestFailedBuildPutsTagsBack runs builds through a plugin that "tags"
// (the test moves the tag as the plugin's first event arrives) and then
// fails, crashes or succeeds: only a success may leave the tag moved.
func TestFailedBuildPutsTagsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  map[string]string
		moved bool
	}{
		{"fails", map[string]string{"events": "1", "fail": "build"}, false},
		{"panics", map[string]string{"events": "1", "panic": "1"}, false},
		{"canceled", map[string]string{"events": "1", "sleep": "30s"}, false},
		{"succeeds", map[string]string{"events": "1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m := newTestManager(t, Options{})
			engine := &fakeTags{tags: map[string]string{"x:1": "sha256:old"}}
			m.tags = engine
			b, err := m.Open(ctx, testDriver)
			if err != nil {
				t.Fatal(err)
			}
			bctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err = b.Build(bctx, echoRequest(t, tc.args), driver.SinkFunc(func(*driver.Event) {
				engine.move("x:1", "sha256:new")
				if tc.name == "canceled" {
					cancel()
				}
			}))
			if (err == nil) != tc.moved {
				t.Fatalf("build: %v", err)
			}
			want := map[bool]string{true: "sha256:new", false: "sha256:old"}[tc.moved]
			if got, _ := engine.imageID(ctx, "x:1"); got != want {
				t.Errorf("after the build x:1 = %s, want %s (%v)", got, want, err)
			}
		})
	}
}
