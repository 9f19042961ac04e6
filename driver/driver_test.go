package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStepCounter(t *testing.T) {
	now := time.Now()
	var forwarded []*Event
	c := &StepCounter{Next: SinkFunc(func(ev *Event) { forwarded = append(forwarded, ev) })}
	events := []*Event{
		{Vertexes: []Vertex{{Digest: "a", Started: &now}, {Digest: "b", Started: &now}}}, // started, not done
		{Vertexes: []Vertex{{Digest: "a", Completed: &now, Cached: true}}},               // done from cache
		{Vertexes: []Vertex{{Digest: "b", Completed: &now}}},                             // done
		{Vertexes: []Vertex{{Digest: "b", Completed: &now}}},                             // the same step again
		{Logs: []Log{{Vertex: "b", Data: []byte("x")}}},                                  // no vertex
		{Vertexes: []Vertex{{Digest: "c", Cached: true}}},                                // cached, no times
	}
	for _, ev := range events {
		c.Send(ev)
	}
	if got := c.Count(); got != (StepCount{Total: 3, Cached: 2}) {
		t.Errorf("Count() = %+v, want 3 steps, 2 cached", got)
	}
	if len(forwarded) != len(events) || forwarded[1] != events[1] {
		t.Errorf("forwarded %d of %d events, not as sent", len(forwarded), len(events))
	}
	// With no Next it still counts, and it is safe for concurrent builds.
	var bare StepCounter
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { bare.Send(&Event{Vertexes: []Vertex{{Digest: fmt.Sprint(i), Completed: &now}}}) })
	}
	wg.Wait()
	if got := bare.Count(); got.Total != 8 || got.Cached != 0 {
		t.Errorf("concurrent Count() = %+v, want 8 steps", got)
	}
}

func TestCanceled(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	boom := errors.New("rpc error: context canceled")
	tests := []struct {
		name     string
		ctx      context.Context
		err      error
		canceled bool
	}{
		{"nil error", done, nil, false},
		{"live context", live, boom, false},
		{"canceled context", done, boom, true},
		{"already classed", done, fmt.Errorf("%w: x", ErrCanceled), true},
	}
	for _, tc := range tests {
		got := Canceled(tc.ctx, tc.err)
		if tc.err == nil {
			if got != nil {
				t.Errorf("%s: Canceled = %v", tc.name, got)
			}
			continue
		}
		if errors.Is(got, ErrCanceled) != tc.canceled || !errors.Is(got, tc.err) {
			t.Errorf("%s: Canceled = %v; canceled %v, want %v, and the cause kept", tc.name, got, errors.Is(got, ErrCanceled), tc.canceled)
		}
		if strings.Count(got.Error(), ErrCanceled.Error()) > 1 {
			t.Errorf("%s: classed twice: %v", tc.name, got)
		}
	}
}

func TestInfoSupports(t *testing.T) {
	i := Info{Features: map[Feature]bool{FeatureSecrets: true, FeaturePush: false}}
	if !i.Supports(FeatureSecrets) || i.Supports(FeaturePush) || i.Supports(FeatureSSH) || (Info{}).Supports(FeatureSSH) {
		t.Errorf("Supports disagrees with %+v", i.Features)
	}
}

func TestConfigLog(t *testing.T) {
	if (Config{}).Log() == nil {
		t.Error("Log() of a Config without a logger is nil")
	}
}

// newBuilder is a Factory's New for the registry tests; it is never called.
func newBuilder(context.Context, Config) (Builder, error) { return nil, errors.New("not for building") }

// TestRegistry registers test drivers in the process-wide registry (only
// this test binary's), under names no real driver has.
func TestRegistry(t *testing.T) {
	Register(Factory{Name: "zz-test-low", Priority: -100, New: newBuilder})
	Register(Factory{Name: "zz-test-high", Priority: 1000, New: newBuilder})
	Register(Factory{Name: "zz-test-tie-b", Priority: -200, New: newBuilder})
	Register(Factory{Name: "zz-test-tie-a", Priority: -200, New: newBuilder})
	var order []string
	for _, f := range Factories() {
		order = append(order, f.Name)
	}
	if want := "zz-test-high zz-test-low zz-test-tie-a zz-test-tie-b"; strings.Join(order, " ") != want {
		t.Errorf("Factories() order = %v, want %s (priority, then name)", order, want)
	}
	if f, err := Lookup("zz-test-low"); err != nil || f.Priority != -100 {
		t.Errorf("Lookup = %+v, %v", f, err)
	}
	_, err := Lookup("nope")
	wantClass(t, err, ErrNotFound, `"nope"`, "zz-test-high")

	for name, f := range map[string]Factory{
		"a name registered twice": {Name: "zz-test-low", New: newBuilder},
		"no name":                 {New: newBuilder},
		"no New":                  {Name: "zz-test-no-new"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register with %s did not panic", name)
				}
			}()
			Register(f)
		}()
	}
}
