package progress

import (
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"

	"github.com/claude-bottle/claude-bottle/driver"
)

// FromSolveStatus converts one BuildKit progress batch into a driver.Event,
// field by field, so that ToSolveStatus(FromSolveStatus(s)) describes the
// same progress as s. A nil status gives a nil event. The buildkit driver
// sends its progress through it.
func FromSolveStatus(s *client.SolveStatus) *driver.Event {
	if s == nil {
		return nil
	}
	ev := &driver.Event{}
	for _, v := range s.Vertexes {
		if v != nil {
			ev.Vertexes = append(ev.Vertexes, toVertex(v))
		}
	}
	for _, st := range s.Statuses {
		if st != nil {
			ev.Statuses = append(ev.Statuses, driver.Status{
				ID: st.ID, Vertex: st.Vertex.String(), Name: st.Name,
				Total: st.Total, Current: st.Current, Timestamp: st.Timestamp,
				Started: st.Started, Completed: st.Completed,
			})
		}
	}
	for _, l := range s.Logs {
		if l != nil {
			ev.Logs = append(ev.Logs, driver.Log{
				Vertex: l.Vertex.String(), Stream: l.Stream, Data: l.Data, Timestamp: l.Timestamp,
			})
		}
	}
	for _, w := range s.Warnings {
		if w != nil {
			ev.Warnings = append(ev.Warnings, toWarning(w))
		}
	}
	return ev
}

// ToSolveStatus converts a driver.Event back into BuildKit's progress type,
// so that any driver's events render with BuildKit's progressui (Printer).
// A nil event gives a nil status.
func ToSolveStatus(ev *driver.Event) *client.SolveStatus {
	if ev == nil {
		return nil
	}
	s := &client.SolveStatus{}
	for i := range ev.Vertexes {
		s.Vertexes = append(s.Vertexes, fromVertex(&ev.Vertexes[i]))
	}
	for _, st := range ev.Statuses {
		s.Statuses = append(s.Statuses, &client.VertexStatus{
			ID: st.ID, Vertex: digest.Digest(st.Vertex), Name: st.Name,
			Total: st.Total, Current: st.Current, Timestamp: st.Timestamp,
			Started: st.Started, Completed: st.Completed,
		})
	}
	for _, l := range ev.Logs {
		s.Logs = append(s.Logs, &client.VertexLog{
			Vertex: digest.Digest(l.Vertex), Stream: l.Stream, Data: l.Data, Timestamp: l.Timestamp,
		})
	}
	for i := range ev.Warnings {
		s.Warnings = append(s.Warnings, fromWarning(&ev.Warnings[i]))
	}
	return s
}

func toVertex(v *client.Vertex) driver.Vertex {
	out := driver.Vertex{
		Digest: v.Digest.String(), Name: v.Name, Started: v.Started,
		Completed: v.Completed, Cached: v.Cached, Error: v.Error,
	}
	for _, in := range v.Inputs {
		out.Inputs = append(out.Inputs, in.String())
	}
	if g := v.ProgressGroup; g != nil {
		out.Group = &driver.ProgressGroup{ID: g.Id, Name: g.Name, Weak: g.Weak}
	}
	return out
}

func fromVertex(v *driver.Vertex) *client.Vertex {
	out := &client.Vertex{
		Digest: digest.Digest(v.Digest), Name: v.Name, Started: v.Started,
		Completed: v.Completed, Cached: v.Cached, Error: v.Error,
	}
	for _, in := range v.Inputs {
		out.Inputs = append(out.Inputs, digest.Digest(in))
	}
	if g := v.Group; g != nil {
		out.ProgressGroup = &pb.ProgressGroup{Id: g.ID, Name: g.Name, Weak: g.Weak}
	}
	return out
}

func toWarning(w *client.VertexWarning) driver.Warning {
	out := driver.Warning{
		Vertex: w.Vertex.String(), Level: w.Level, Short: w.Short, Detail: w.Detail, URL: w.URL,
	}
	if si := w.SourceInfo; si != nil {
		out.SourceInfo = &driver.SourceInfo{Filename: si.Filename, Language: si.Language, Data: si.Data}
		if si.Definition != nil {
			// The definition is an LLB graph; it travels as its protobuf
			// encoding so that the driver package names no BuildKit type.
			if b, err := si.Definition.MarshalVT(); err == nil {
				out.SourceInfo.Definition = b
			}
		}
	}
	for _, r := range w.Range {
		if r != nil {
			out.Ranges = append(out.Ranges, driver.Range{
				StartLine: r.GetStart().GetLine(), StartChar: r.GetStart().GetCharacter(),
				EndLine: r.GetEnd().GetLine(), EndChar: r.GetEnd().GetCharacter(),
			})
		}
	}
	return out
}

func fromWarning(w *driver.Warning) *client.VertexWarning {
	out := &client.VertexWarning{
		Vertex: digest.Digest(w.Vertex), Level: w.Level, Short: w.Short, Detail: w.Detail, URL: w.URL,
	}
	if si := w.SourceInfo; si != nil {
		out.SourceInfo = &pb.SourceInfo{Filename: si.Filename, Language: si.Language, Data: si.Data}
		if len(si.Definition) > 0 {
			def := &pb.Definition{}
			if err := def.UnmarshalVT(si.Definition); err == nil {
				out.SourceInfo.Definition = def
			}
		}
	}
	for _, r := range w.Ranges {
		out.Range = append(out.Range, &pb.Range{
			Start: &pb.Position{Line: r.StartLine, Character: r.StartChar},
			End:   &pb.Position{Line: r.EndLine, Character: r.EndChar},
		})
	}
	return out
}
