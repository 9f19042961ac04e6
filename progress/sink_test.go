package progress

import (
	"reflect"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/claude-bottle/claude-bottle/driver"
)

// twoSteps is one build's progress: a cached base step and a step that
// depends on it, with a status, a log line and a warning.
func twoSteps() *driver.Event {
	a, b := digest.FromString("a").String(), digest.FromString("b").String()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 := t0.Add(time.Second)
	return &driver.Event{
		Vertexes: []driver.Vertex{
			{Digest: a, Name: "[1/2] FROM scratch", Started: &t0, Completed: &t0, Cached: true},
			{Digest: b, Inputs: []string{a}, Name: "[2/2] RUN make", Started: &t0, Completed: &t1,
				Group: &driver.ProgressGroup{ID: "g", Name: "make"}},
		},
		Statuses: []driver.Status{{ID: "layer", Vertex: b, Current: 1, Timestamp: t1}},
		Logs:     []driver.Log{{Vertex: b, Stream: 1, Data: []byte("made\n"), Timestamp: t1}},
		Warnings: []driver.Warning{{Vertex: b, Short: []byte("lint")}, {Short: []byte("no vertex")}},
	}
}

// TestRelabel: names get the label as buildx's prefix puts it, digests
// stay real digests, and the input is left as it was.
func TestRelabel(t *testing.T) {
	in := twoSteps()
	before := twoSteps()
	out := Relabel(in, "bot-a")
	if !reflect.DeepEqual(in, before) {
		t.Fatalf("Relabel changed its input:\n%+v", in)
	}
	want := twoSteps()
	want.Vertexes[0].Name = "[bot-a 1/2] FROM scratch"
	want.Vertexes[1].Name = "[bot-a 2/2] RUN make"
	want.Vertexes[1].Group.Name = "[bot-a] make"
	if !reflect.DeepEqual(out, want) {
		t.Errorf("Relabel =\n%+v\nwant\n%+v", out, want)
	}
	if Relabel(nil, "x") != nil {
		t.Error("Relabel(nil) is not nil")
	}
	if ev := Relabel(&driver.Event{}, "x"); ev.Vertexes != nil || ev.Logs != nil {
		t.Errorf("Relabel of an empty event = %+v", ev)
	}
}

// TestKeyed: a display's copy has every digest keyed by the label.
func TestKeyed(t *testing.T) {
	ev := keyed(twoSteps(), "bot-a")
	a, b := "bot-a/"+digest.FromString("a").String(), "bot-a/"+digest.FromString("b").String()
	if ev.Vertexes[0].Digest != a || ev.Vertexes[1].Digest != b || ev.Vertexes[1].Inputs[0] != a ||
		ev.Statuses[0].Vertex != b || ev.Vertexes[1].Group.ID != "bot-a/g" || ev.Logs[0].Vertex != b || ev.Warnings[0].Vertex != b || ev.Warnings[1].Vertex != "" {
		t.Errorf("keyed = %+v", ev)
	}
	if keyed(nil, "x") != nil {
		t.Error("keyed(nil) is not nil")
	}
}

// recorder is a Sink that keeps what it was sent.
type recorder struct {
	mu  sync.Mutex
	got []*driver.Event
}

func (r *recorder) Send(ev *driver.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ev)
}

func TestLabelAndTee(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	if Label("", a) != driver.Sink(a) {
		t.Error("Label with no label wraps its sink")
	}
	ev := twoSteps()
	Tee(a, nil, b).Send(ev)
	if len(a.got) != 1 || len(b.got) != 1 || a.got[0] != ev || b.got[0] != ev {
		t.Fatalf("Tee sent %d and %d events, want the one event to each", len(a.got), len(b.got))
	}
	// A label on one branch leaves the other's event alone.
	Tee(a, Label("x", b)).Send(ev)
	if a.got[1] != ev || b.got[1] == ev || b.got[1].Vertexes[0].Name != "[x 1/2] FROM scratch" || ev.Vertexes[0].Name != "[1/2] FROM scratch" {
		t.Errorf("labelled branch: %q; plain branch: %q", b.got[1].Vertexes[0].Name, a.got[1].Vertexes[0].Name)
	}
	Tee().Send(ev) // no sinks: nothing to do, no panic
}
