package progress

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
)

// fullStatus sets every field of a SolveStatus, so a converter that drops
// one fails the round trip.
func fullStatus() *client.SolveStatus {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	t1 := t0.Add(time.Second)
	d1, d2 := digest.FromString("a"), digest.FromString("b")
	return &client.SolveStatus{
		Vertexes: []*client.Vertex{
			{Digest: d1, Name: "[1/2] FROM scratch", Started: &t0, Completed: &t1, Cached: true},
			{Digest: d2, Inputs: []digest.Digest{d1}, Name: "[2/2] RUN make", Started: &t0, Error: "exit code: 2",
				ProgressGroup: &pb.ProgressGroup{Id: "g1", Name: "group", Weak: true}},
		},
		Statuses: []*client.VertexStatus{{ID: "layer sha256:1", Vertex: d2, Name: "extracting", Total: 100, Current: 42,
			Timestamp: t1, Started: &t0, Completed: &t1}},
		Logs: []*client.VertexLog{{Vertex: d2, Stream: 2, Data: []byte("make: *** error\n"), Timestamp: t1}},
		Warnings: []*client.VertexWarning{{Vertex: d2, Level: 1, Short: []byte("short"), Detail: [][]byte{[]byte("d1"), []byte("d2")},
			URL: "https://example.invalid/rule",
			SourceInfo: &pb.SourceInfo{Filename: "Dockerfile", Language: "Dockerfile", Data: []byte("FROM scratch\n"),
				Definition: &pb.Definition{Def: [][]byte{[]byte("op")}, Metadata: map[string]*pb.OpMetadata{"x": {IgnoreCache: true}}}},
			Range: []*pb.Range{{Start: &pb.Position{Line: 3, Character: 1}, End: &pb.Position{Line: 4, Character: 9}}}}},
	}
}

func TestProgressRoundTrip(t *testing.T) {
	in := fullStatus()
	ev := FromSolveStatus(in)
	out := ToSolveStatus(ev)
	want, _ := json.Marshal(in)
	got, _ := json.Marshal(out)
	if string(got) != string(want) {
		t.Errorf("ToSolveStatus(FromSolveStatus(s)) differs:\n got %s\nwant %s", got, want)
	}
	if d := out.Warnings[0].SourceInfo.Definition; d == nil || d.Metadata["x"] == nil || !d.Metadata["x"].IgnoreCache {
		t.Errorf("warning's LLB definition lost: %+v", d)
	}
	// And the other way: an event survives ToSolveStatus then FromSolveStatus.
	back := FromSolveStatus(out)
	if !reflect.DeepEqual(back, ev) {
		t.Errorf("FromSolveStatus(ToSolveStatus(ev)) differs:\n got %+v\nwant %+v", back, ev)
	}
}

func TestProgressEventFields(t *testing.T) {
	ev := FromSolveStatus(fullStatus())
	if len(ev.Vertexes) != 2 || len(ev.Statuses) != 1 || len(ev.Logs) != 1 || len(ev.Warnings) != 1 {
		t.Fatalf("FromSolveStatus counts = %d %d %d %d", len(ev.Vertexes), len(ev.Statuses), len(ev.Logs), len(ev.Warnings))
	}
	v := ev.Vertexes[1]
	if v.Inputs[0] != digest.FromString("a").String() || v.Group == nil || !v.Group.Weak || v.Error != "exit code: 2" {
		t.Errorf("vertex = %+v", v)
	}
	w := ev.Warnings[0]
	if w.SourceInfo.Filename != "Dockerfile" || w.Ranges[0] != (driver.Range{StartLine: 3, StartChar: 1, EndLine: 4, EndChar: 9}) {
		t.Errorf("warning = %+v", w)
	}
}

func TestProgressNil(t *testing.T) {
	if FromSolveStatus(nil) != nil || ToSolveStatus(nil) != nil {
		t.Error("nil must convert to nil")
	}
	// Nil entries inside a status are skipped rather than crashing.
	ev := FromSolveStatus(&client.SolveStatus{Vertexes: []*client.Vertex{nil}, Logs: []*client.VertexLog{nil}})
	if len(ev.Vertexes) != 0 || len(ev.Logs) != 0 {
		t.Errorf("nil entries kept: %+v", ev)
	}
}
