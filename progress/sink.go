package progress

import (
	"slices"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Tee returns a Sink that sends every event to each of sinks in turn (nil
// ones skipped): the terminal's Printer and a dashboard's stream, say. The
// sinks share each event, so none may change it (Label copies).
func Tee(sinks ...driver.Sink) driver.Sink {
	var live []driver.Sink
	for _, s := range sinks {
		if s != nil {
			live = append(live, s)
		}
	}
	return driver.SinkFunc(func(ev *driver.Event) {
		for _, s := range live {
			s.Send(ev)
		}
	})
}

// Label returns a Sink that sends next a copy of every event with its
// step names prefixed "[label] ", and its vertex digests prefixed too:
// two bottles' builds share vertexes (the same base steps), and a display
// keys steps by digest, so without it their lines would merge. An empty
// label returns next itself.
func Label(label string, next driver.Sink) driver.Sink {
	if label == "" {
		return next
	}
	return driver.SinkFunc(func(ev *driver.Event) { next.Send(Relabel(ev, label)) })
}

// Relabel returns a copy of ev labelled as Label does; ev is left as it
// was, so other sinks that share it see it unchanged.
func Relabel(ev *driver.Event, label string) *driver.Event {
	if ev == nil {
		return nil
	}
	key := func(d string) string {
		if d == "" {
			return d
		}
		return label + "/" + d
	}
	out := &driver.Event{
		Vertexes: slices.Clone(ev.Vertexes), Statuses: slices.Clone(ev.Statuses),
		Logs: slices.Clone(ev.Logs), Warnings: slices.Clone(ev.Warnings),
	}
	for i := range out.Vertexes {
		v := &out.Vertexes[i]
		v.Name = "[" + label + "] " + v.Name
		v.Digest = key(v.Digest)
		v.Inputs = slices.Clone(v.Inputs)
		for j := range v.Inputs {
			v.Inputs[j] = key(v.Inputs[j])
		}
	}
	for i := range out.Statuses {
		out.Statuses[i].Vertex = key(out.Statuses[i].Vertex)
	}
	for i := range out.Logs {
		out.Logs[i].Vertex = key(out.Logs[i].Vertex)
	}
	for i := range out.Warnings {
		out.Warnings[i].Vertex = key(out.Warnings[i].Vertex)
	}
	return out
}
