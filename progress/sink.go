package progress

import (
	"slices"
	"strings"

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
// step names labelled as buildx labels a bake target's steps: "[1/2] RUN
// make" becomes "[label 1/2] RUN make", any other name "[label] name".
// Digests are left alone, so that what a program reads of them (rawjson)
// still names the build's real vertexes. An empty label returns next
// itself. A display that people read keys digests too: Printer.Label.
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
	out := &driver.Event{
		Vertexes: slices.Clone(ev.Vertexes), Statuses: slices.Clone(ev.Statuses),
		Logs: slices.Clone(ev.Logs), Warnings: slices.Clone(ev.Warnings),
	}
	for i := range out.Vertexes {
		v := &out.Vertexes[i]
		v.Name = prefix(label, v.Name)
		if v.Group != nil {
			g := *v.Group
			g.Name = prefix(label, g.Name)
			v.Group = &g
		}
	}
	return out
}

// prefix puts label into a step name the way buildx's progress prefix does.
func prefix(label, name string) string {
	if rest, ok := strings.CutPrefix(name, "["); ok {
		return "[" + label + " " + rest
	}
	return "[" + label + "] " + name
}

// keyed rewrites, in place, every vertex digest and progress group of ev
// (a copy of its own) to label/ID, so that a display keeping steps by digest shows two
// builds' shared steps as two lines. Only for displays: the result is no
// longer a digest.
func keyed(ev *driver.Event, label string) *driver.Event {
	if ev == nil {
		return nil
	}
	key := func(d string) string {
		if d == "" {
			return d
		}
		return label + "/" + d
	}
	for i := range ev.Vertexes {
		v := &ev.Vertexes[i]
		v.Digest = key(v.Digest)
		if v.Group != nil { // a group is a display line too
			g := *v.Group
			g.ID = key(g.ID)
			v.Group = &g
		}
		v.Inputs = slices.Clone(v.Inputs)
		for j := range v.Inputs {
			v.Inputs[j] = key(v.Inputs[j])
		}
	}
	for i := range ev.Statuses {
		ev.Statuses[i].Vertex = key(ev.Statuses[i].Vertex)
	}
	for i := range ev.Logs {
		ev.Logs[i].Vertex = key(ev.Logs[i].Vertex)
	}
	for i := range ev.Warnings {
		ev.Warnings[i].Vertex = key(ev.Warnings[i].Vertex)
	}
	return ev
}
