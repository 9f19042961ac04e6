package plainprogress

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/clirun"
)

// replayed is what a recorded output made.
type replayed struct {
	p      *Parser
	events []*driver.Event
	steps  driver.StepCount
	tail   *clirun.Tail
}

func replay(t *testing.T, file string) replayed {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := replayed{tail: clirun.NewTail(15)}
	r.p = &Parser{Keep: r.tail.Add}
	counter := &driver.StepCounter{Next: driver.SinkFunc(func(ev *driver.Event) { r.events = append(r.events, ev) })}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		clock = clock.Add(time.Millisecond)
		if ev := r.p.Line(sc.Text(), clock); ev != nil {
			counter.Send(ev)
		}
	}
	r.steps = counter.Count()
	return r
}

func (r replayed) names() []string {
	var out []string
	for _, ev := range r.events {
		for _, v := range ev.Vertexes {
			if !slices.Contains(out, v.Name) {
				out = append(out, v.Name)
			}
		}
	}
	return out
}

func (r replayed) logs() []string {
	names := map[string]string{}
	var out []string
	for _, ev := range r.events {
		for _, v := range ev.Vertexes {
			names[v.Digest] = v.Name
		}
		for _, l := range ev.Logs {
			out = append(out, names[l.Vertex]+":"+strings.TrimSpace(string(l.Data)))
		}
	}
	return out
}

func TestParser(t *testing.T) {
	steps := []string{"[1/4] COPY busybox /bin/busybox", `[2/4] RUN ["/bin/busybox", "--install", "-s", "/bin"]`,
		"[3/4] RUN echo hello bar && echo to-stderr >&2", "[4/4] COPY . /src"}
	t.Run("fresh", func(t *testing.T) {
		r := replay(t, "plain-ok.stderr")
		want := append([]string{"[internal] load build definition from Dockerfile", "[internal] load .dockerignore", "[internal] load build context"}, steps...)
		want = append(want, "exporting to image")
		if got := r.names(); !slices.Equal(got, want) {
			t.Errorf("steps:\n got %q\nwant %q", got, want)
		}
		if r.steps != (driver.StepCount{Total: 8}) {
			t.Errorf("steps = %+v, want 8 done, none cached", r.steps)
		}
		if got, want := r.logs(), []string{steps[2] + ":hello bar", steps[2] + ":to-stderr"}; !slices.Equal(got, want) {
			t.Errorf("logs:\n got %q\nwant %q", got, want)
		}
		var done []string
		for _, ev := range r.events {
			for _, s := range ev.Statuses {
				if s.Completed != nil {
					done = append(done, s.ID)
				}
			}
		}
		if !slices.Contains(done, "exporting layers") || !slices.Contains(done, "transferring dockerfile: 192B") {
			t.Errorf("completed statuses = %q", done)
		}
		if !r.p.StepStarted() || r.p.FailedStep() != "" {
			t.Errorf("StepStarted %v, FailedStep %q", r.p.StepStarted(), r.p.FailedStep())
		}
	})
	t.Run("cached", func(t *testing.T) {
		r := replay(t, "plain-cached.stderr")
		if r.steps != (driver.StepCount{Total: 8, Cached: 4}) {
			t.Errorf("steps = %+v, want 8 done and the 4 Dockerfile steps cached", r.steps)
		}
	})
	t.Run("failed RUN", func(t *testing.T) {
		r := replay(t, "plain-fail.stderr")
		if got := r.p.FailedStep(); got != "[4/4] RUN exit 3" {
			t.Errorf("FailedStep = %q", got)
		}
		if !strings.Contains(r.tail.String(), "ERROR [4/4] RUN exit 3: executor failed running") {
			t.Errorf("tail lacks the step's error:%s", r.tail)
		}
	})
	t.Run("start before completion", func(t *testing.T) {
		r := replay(t, "plain-ok.stderr")
		seen := map[string]bool{}
		for _, ev := range r.events {
			for _, v := range ev.Vertexes {
				if !seen[v.Digest] && v.Completed != nil {
					t.Errorf("step %q first sent completed", v.Name)
				}
				seen[v.Digest] = true
			}
		}
	})
}

func TestParserOnlyInternalStepsIsNotStarted(t *testing.T) {
	var p Parser
	p.Line("#1 [internal] load build definition from Dockerfile", time.Now())
	if p.StepStarted() {
		t.Error("loading the Dockerfile counts as a started step")
	}
	var kept []string
	p.Keep = func(l string) { kept = append(kept, l) }
	if ev := p.Line("ERROR: failed to solve: dockerfile parse error", time.Now()); ev != nil || len(kept) != 1 {
		t.Errorf("a line that is not progress: event %v, kept %q", ev, kept)
	}
}
