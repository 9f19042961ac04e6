package dockercli

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	"google.golang.org/protobuf/proto"
)

// rawJSONParser reads `docker buildx build --progress=rawjson`: one
// BuildKit SolveStatus as JSON per line on stderr, between which buildx
// prints its own plain lines (warnings, the final error).
type rawJSONParser struct {
	tail    *tail
	failed  string
	started bool
}

func newRawJSONParser(t *tail) *rawJSONParser { return &rawJSONParser{tail: t} }

func (r *rawJSONParser) line(_ int, s string, _ time.Time) *driver.Event {
	var ss client.SolveStatus
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &ss) != nil {
		r.tail.add(s)
		return nil
	}
	r.observe(&ss)
	return solveStatusEvent(&ss)
}

// observe notes the failed step, whether a step started, and the output
// lines worth keeping for an error message.
func (r *rawJSONParser) observe(ss *client.SolveStatus) {
	for _, v := range ss.Vertexes {
		if v.Started != nil && !strings.HasPrefix(v.Name, "[internal]") {
			r.started = true
		}
		if v.Error == "" {
			continue
		}
		// Steps cut short because another one failed or the build was
		// canceled end with context.Canceled; they are not the cause.
		if r.failed == "" && !strings.HasSuffix(v.Error, context.Canceled.Error()) {
			r.failed = v.Name
		}
		r.tail.add("ERROR " + v.Name + ": " + v.Error)
	}
	for _, l := range ss.Logs {
		for _, s := range strings.Split(strings.TrimRight(string(l.Data), "\n"), "\n") {
			r.tail.add(s)
		}
	}
}

func (r *rawJSONParser) end(bool, time.Time) *driver.Event { return nil }
func (r *rawJSONParser) failedStep() string                { return r.failed }
func (r *rawJSONParser) stepStarted() bool                 { return r.started }

// solveStatusEvent maps a BuildKit SolveStatus onto a driver.Event field by
// field.
func solveStatusEvent(ss *client.SolveStatus) *driver.Event {
	ev := &driver.Event{}
	for _, v := range ss.Vertexes {
		ev.Vertexes = append(ev.Vertexes, mapVertex(v))
	}
	for _, s := range ss.Statuses {
		ev.Statuses = append(ev.Statuses, driver.Status{
			ID: s.ID, Vertex: string(s.Vertex), Name: s.Name, Total: s.Total, Current: s.Current,
			Timestamp: s.Timestamp, Started: s.Started, Completed: s.Completed,
		})
	}
	for _, l := range ss.Logs {
		ev.Logs = append(ev.Logs, driver.Log{Vertex: string(l.Vertex), Stream: l.Stream, Data: l.Data, Timestamp: l.Timestamp})
	}
	for _, w := range ss.Warnings {
		ev.Warnings = append(ev.Warnings, mapWarning(w))
	}
	return ev
}

func mapVertex(v *client.Vertex) driver.Vertex {
	out := driver.Vertex{
		Digest: string(v.Digest), Name: v.Name, Started: v.Started, Completed: v.Completed,
		Cached: v.Cached, Error: v.Error,
	}
	for _, in := range v.Inputs {
		out.Inputs = append(out.Inputs, string(in))
	}
	if g := v.ProgressGroup; g != nil {
		out.Group = &driver.ProgressGroup{ID: g.Id, Name: g.Name, Weak: g.Weak}
	}
	return out
}

func mapWarning(w *client.VertexWarning) driver.Warning {
	out := driver.Warning{Vertex: string(w.Vertex), Level: w.Level, Short: w.Short, Detail: w.Detail, URL: w.URL}
	if si := w.SourceInfo; si != nil {
		out.SourceInfo = &driver.SourceInfo{Filename: si.Filename, Language: si.Language, Data: si.Data, Definition: marshalDefinition(si.Definition)}
	}
	for _, r := range w.Range {
		out.Ranges = append(out.Ranges, mapRange(r))
	}
	return out
}

func mapRange(r *pb.Range) driver.Range {
	var out driver.Range
	if s := r.Start; s != nil {
		out.StartLine, out.StartChar = s.Line, s.Character
	}
	if e := r.End; e != nil {
		out.EndLine, out.EndChar = e.Line, e.Character
	}
	return out
}

// marshalDefinition keeps a warning's LLB definition as protobuf bytes, the
// form driver.SourceInfo carries it in.
func marshalDefinition(def *pb.Definition) []byte {
	if def == nil {
		return nil
	}
	b, err := proto.Marshal(def)
	if err != nil {
		return nil
	}
	return b
}
