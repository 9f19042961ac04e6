package wire

import (
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// EventToPB converts one progress event. It copies what it needs, so the
// driver may reuse ev once Send returns.
func EventToPB(ev *driver.Event) *pb.Event {
	out := &pb.Event{}
	if n := len(ev.Vertexes); n > 0 {
		out.Vertexes = make([]*pb.Vertex, n)
		for i, v := range ev.Vertexes {
			out.Vertexes[i] = vertexToPB(v)
		}
	}
	if n := len(ev.Statuses); n > 0 {
		out.Statuses = make([]*pb.Status, n)
		for i, s := range ev.Statuses {
			out.Statuses[i] = &pb.Status{
				Id: s.ID, Vertex: s.Vertex, Name: s.Name, Total: s.Total, Current: s.Current,
				Timestamp: timeToPB(s.Timestamp), Started: tsToPB(s.Started), Completed: tsToPB(s.Completed),
			}
		}
	}
	if n := len(ev.Logs); n > 0 {
		out.Logs = make([]*pb.Log, n)
		for i, l := range ev.Logs {
			out.Logs[i] = &pb.Log{
				Vertex: l.Vertex, Stream: int32(l.Stream),
				Data: append([]byte(nil), l.Data...), Timestamp: timeToPB(l.Timestamp),
			}
		}
	}
	if n := len(ev.Warnings); n > 0 {
		out.Warnings = make([]*pb.Warning, n)
		for i, w := range ev.Warnings {
			out.Warnings[i] = warningToPB(w)
		}
	}
	return out
}

func vertexToPB(v driver.Vertex) *pb.Vertex {
	out := &pb.Vertex{
		Digest: v.Digest, Inputs: append([]string(nil), v.Inputs...), Name: v.Name,
		Started: tsToPB(v.Started), Completed: tsToPB(v.Completed),
		Cached: v.Cached, Error: v.Error,
	}
	if g := v.Group; g != nil {
		out.Group = &pb.ProgressGroup{Id: g.ID, Name: g.Name, Weak: g.Weak}
	}
	return out
}

func warningToPB(w driver.Warning) *pb.Warning {
	out := &pb.Warning{
		Vertex: w.Vertex, Level: int32(w.Level), Short: append([]byte(nil), w.Short...), Url: w.URL,
	}
	for _, d := range w.Detail {
		out.Detail = append(out.Detail, append([]byte(nil), d...))
	}
	if s := w.SourceInfo; s != nil {
		out.SourceInfo = &pb.SourceInfo{
			Filename: s.Filename, Language: s.Language,
			Data: append([]byte(nil), s.Data...), Definition: append([]byte(nil), s.Definition...),
		}
	}
	for _, r := range w.Ranges {
		out.Ranges = append(out.Ranges, &pb.Range{
			StartLine: r.StartLine, StartChar: r.StartChar, EndLine: r.EndLine, EndChar: r.EndChar,
		})
	}
	return out
}

func eventFromPB(e *pb.Event) *driver.Event {
	out := &driver.Event{}
	if n := len(e.GetVertexes()); n > 0 {
		out.Vertexes = make([]driver.Vertex, n)
		for i, v := range e.GetVertexes() {
			out.Vertexes[i] = vertexFromPB(v)
		}
	}
	if n := len(e.GetStatuses()); n > 0 {
		out.Statuses = make([]driver.Status, n)
		for i, s := range e.GetStatuses() {
			out.Statuses[i] = driver.Status{
				ID: s.GetId(), Vertex: s.GetVertex(), Name: s.GetName(), Total: s.GetTotal(), Current: s.GetCurrent(),
				Timestamp: timeFromPB(s.GetTimestamp()), Started: tsFromPB(s.GetStarted()), Completed: tsFromPB(s.GetCompleted()),
			}
		}
	}
	if n := len(e.GetLogs()); n > 0 {
		out.Logs = make([]driver.Log, n)
		for i, l := range e.GetLogs() {
			out.Logs[i] = driver.Log{
				Vertex: l.GetVertex(), Stream: int(l.GetStream()),
				Data: l.GetData(), Timestamp: timeFromPB(l.GetTimestamp()),
			}
		}
	}
	if n := len(e.GetWarnings()); n > 0 {
		out.Warnings = make([]driver.Warning, n)
		for i, w := range e.GetWarnings() {
			out.Warnings[i] = warningFromPB(w)
		}
	}
	return out
}

func vertexFromPB(v *pb.Vertex) driver.Vertex {
	out := driver.Vertex{
		Digest: v.GetDigest(), Inputs: v.GetInputs(), Name: v.GetName(),
		Started: tsFromPB(v.GetStarted()), Completed: tsFromPB(v.GetCompleted()),
		Cached: v.GetCached(), Error: v.GetError(),
	}
	if g := v.GetGroup(); g != nil {
		out.Group = &driver.ProgressGroup{ID: g.GetId(), Name: g.GetName(), Weak: g.GetWeak()}
	}
	return out
}

func warningFromPB(w *pb.Warning) driver.Warning {
	out := driver.Warning{
		Vertex: w.GetVertex(), Level: int(w.GetLevel()), Short: w.GetShort(),
		Detail: w.GetDetail(), URL: w.GetUrl(),
	}
	if s := w.GetSourceInfo(); s != nil {
		out.SourceInfo = &driver.SourceInfo{
			Filename: s.GetFilename(), Language: s.GetLanguage(),
			Data: s.GetData(), Definition: s.GetDefinition(),
		}
	}
	for _, r := range w.GetRanges() {
		out.Ranges = append(out.Ranges, driver.Range{
			StartLine: r.GetStartLine(), StartChar: r.GetStartChar(), EndLine: r.GetEndLine(), EndChar: r.GetEndChar(),
		})
	}
	return out
}
