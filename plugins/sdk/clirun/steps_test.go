package clirun

import (
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestSteps(t *testing.T) {
	var evs []*driver.Event
	counter := &driver.StepCounter{Next: driver.SinkFunc(func(ev *driver.Event) { evs = append(evs, ev) })}
	clock := time.Unix(0, 0)
	s := &Steps{Sink: counter, Now: func() time.Time { clock = clock.Add(time.Second); return clock }}
	s.Log(1, "before any step")
	s.Start("1", "[1/3] FROM base")
	s.Cached()
	s.Start("2", "[2/3] RUN make")
	s.Log(2, "compiling")
	s.Start("3", "[3/3] RUN test") // completes step 2
	if name := s.Fail("exit status 1"); name != "[3/3] RUN test" {
		t.Errorf("Fail = %q", name)
	}
	s.Complete() // nothing in progress: no event
	if got := counter.Count(); got != (driver.StepCount{Total: 3, Cached: 1}) {
		t.Errorf("steps = %+v, want 3 with 1 cached", got)
	}
	if s.Failed() != "[3/3] RUN test" {
		t.Errorf("Failed = %q", s.Failed())
	}
	var trace []string
	for _, ev := range evs {
		for _, v := range ev.Vertexes {
			state := "started"
			switch {
			case v.Error != "":
				state = "failed: " + v.Error
			case v.Cached:
				state = "cached"
			case v.Completed != nil:
				state = "done"
			}
			if v.Started == nil || v.Completed != nil && v.Completed.Before(*v.Started) {
				t.Errorf("vertex %s: started %v, completed %v", v.Digest, v.Started, v.Completed)
			}
			trace = append(trace, v.Digest+" "+state)
		}
		for _, l := range ev.Logs {
			trace = append(trace, "log "+l.Vertex+" "+strings.TrimSpace(string(l.Data)))
		}
	}
	want := "log  before any step|1 started|1 cached|2 started|log 2 compiling|2 done|3 started|3 failed: exit status 1"
	if got := strings.Join(trace, "|"); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
}
