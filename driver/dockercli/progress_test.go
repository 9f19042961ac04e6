package dockercli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// replay feeds recorded docker output through a parser the way a build
// does (through lineWriter, in small chunks) and returns what it sent.
type replayed struct {
	events []*driver.Event
	steps  driver.StepCount
	parser lineParser
	tail   *tail
}

func replay(t *testing.T, mk func(*tail) lineParser, failed bool, files map[int]string) replayed {
	t.Helper()
	var r replayed
	counter := &driver.StepCounter{Next: driver.SinkFunc(func(ev *driver.Event) { r.events = append(r.events, ev) })}
	r.tail = newTail(15)
	r.parser = mk(r.tail)
	pr := newProgress(r.parser, r.tail, counter)
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pr.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	for _, stream := range []int{1, 2} {
		name, ok := files[stream]
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		w := pr.writer(stream)
		for len(data) > 0 { // odd-sized chunks split lines as pipes do
			n := min(len(data), 37)
			if _, err := w.Write(data[:n]); err != nil {
				t.Fatal(err)
			}
			data = data[n:]
		}
		w.flush()
	}
	pr.finish(failed)
	r.steps = counter.Count()
	return r
}

// logs returns "stream:vertex-name:text" for every log line.
func (r replayed) logs() []string {
	names := map[string]string{}
	var out []string
	for _, ev := range r.events {
		for _, v := range ev.Vertexes {
			names[v.Digest] = v.Name
		}
		for _, l := range ev.Logs {
			for _, line := range strings.Split(strings.TrimRight(string(l.Data), "\n"), "\n") {
				out = append(out, strings.Join([]string{string(rune('0' + l.Stream)), names[l.Vertex], line}, ":"))
			}
		}
	}
	return out
}

// names returns the distinct vertex names in order of appearance.
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

func TestLegacyParser(t *testing.T) {
	mk := func(tl *tail) lineParser { return newLegacyParser(tl) }
	t.Run("fresh", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{1: "legacy-ok.stdout"})
		want := []string{"[1/6] FROM scratch", "[2/6] COPY busybox /bin/busybox", `[3/6] RUN ["/bin/busybox", "--install", "-s", "/bin"]`,
			"[4/6] ARG FOO=bar", "[5/6] RUN echo hello $FOO && echo to-stderr >&2", "[6/6] COPY . /src"}
		if got := r.names(); !slices.Equal(got, want) {
			t.Errorf("steps:\n got %q\nwant %q", got, want)
		}
		if r.steps != (driver.StepCount{Total: 6}) {
			t.Errorf("steps = %+v, want 6 done, none cached", r.steps)
		}
		wantLogs := []string{"1:[5/6] RUN echo hello $FOO && echo to-stderr >&2:hello bar", "2:[5/6] RUN echo hello $FOO && echo to-stderr >&2:to-stderr"}
		if got := r.logs(); !slices.Equal(got, wantLogs) {
			t.Errorf("logs:\n got %q\nwant %q", got, wantLogs)
		}
		if r.parser.failedStep() != "" || !r.parser.stepStarted() {
			t.Errorf("failedStep %q, stepStarted %v", r.parser.failedStep(), r.parser.stepStarted())
		}
	})
	t.Run("cached", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{1: "legacy-cached.stdout"})
		if r.steps != (driver.StepCount{Total: 6, Cached: 5}) {
			t.Errorf("steps = %+v, want 6 done and 5 cached (FROM is never cached)", r.steps)
		}
	})
	t.Run("failed RUN", func(t *testing.T) {
		r := replay(t, mk, true, map[int]string{1: "legacy-fail.stdout", 2: "legacy-fail.stderr"})
		if got := r.parser.failedStep(); got != "[5/5] RUN exit 3" {
			t.Errorf("failedStep = %q", got)
		}
		wantLogs := []string{"2:[4/5] RUN echo out-line && echo err-line >&2:err-line", "1:[4/5] RUN echo out-line && echo err-line >&2:out-line"}
		if got := r.logs(); !slices.Equal(got, wantLogs) {
			t.Errorf("logs:\n got %q\nwant %q", got, wantLogs)
		}
		if !strings.Contains(r.tail.String(), "returned a non-zero code: 3") || strings.Contains(r.tail.String(), "out-line") {
			t.Errorf("tail should hold docker's error and only the failed step's output: %s", r.tail)
		}
		last := r.events[len(r.events)-1].Vertexes[0]
		if last.Name != "[5/5] RUN exit 3" || !strings.Contains(last.Error, "non-zero code: 3") || last.Completed == nil {
			t.Errorf("last vertex = %+v, want the RUN failed with docker's message", last)
		}
		if r.steps != (driver.StepCount{Total: 5, Cached: 2}) {
			t.Errorf("steps = %+v", r.steps)
		}
	})
}

func TestPlainParser(t *testing.T) {
	mk := func(tl *tail) lineParser { return newPlainParser(tl) }
	steps := []string{"[1/4] COPY busybox /bin/busybox", `[2/4] RUN ["/bin/busybox", "--install", "-s", "/bin"]`,
		"[3/4] RUN echo hello bar && echo to-stderr >&2", "[4/4] COPY . /src"}
	t.Run("fresh", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{2: "plain-ok.stderr"})
		want := append([]string{"[internal] load build definition from Dockerfile", "[internal] load .dockerignore", "[internal] load build context"}, steps...)
		want = append(want, "exporting to image")
		if got := r.names(); !slices.Equal(got, want) {
			t.Errorf("vertexes:\n got %q\nwant %q", got, want)
		}
		if r.steps != (driver.StepCount{Total: 8}) {
			t.Errorf("steps = %+v, want 8 done, none cached", r.steps)
		}
		wantLogs := []string{"1:" + steps[2] + ":hello bar", "1:" + steps[2] + ":to-stderr"}
		if got := r.logs(); !slices.Equal(got, wantLogs) {
			t.Errorf("logs:\n got %q\nwant %q", got, wantLogs)
		}
		var statuses []string
		for _, ev := range r.events {
			for _, s := range ev.Statuses {
				if s.Completed != nil {
					statuses = append(statuses, s.ID)
				}
			}
		}
		if !slices.Contains(statuses, "exporting layers") || !slices.Contains(statuses, "transferring dockerfile: 192B") {
			t.Errorf("completed statuses = %q", statuses)
		}
	})
	t.Run("cached", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{2: "plain-cached.stderr"})
		if r.steps != (driver.StepCount{Total: 8, Cached: 4}) {
			t.Errorf("steps = %+v, want 8 done and the 4 Dockerfile steps cached", r.steps)
		}
	})
	t.Run("failed RUN", func(t *testing.T) {
		r := replay(t, mk, true, map[int]string{2: "plain-fail.stderr"})
		if got := r.parser.failedStep(); got != "[4/4] RUN exit 3" {
			t.Errorf("failedStep = %q", got)
		}
		if !strings.Contains(r.tail.String(), "exit code: 3") {
			t.Errorf("tail lacks the error: %s", r.tail)
		}
	})
}

func TestRawJSONParser(t *testing.T) {
	mk := func(tl *tail) lineParser { return newRawJSONParser(tl) }
	t.Run("fresh", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{2: "rawjson-ok.stderr"})
		if r.steps != (driver.StepCount{Total: 8}) {
			t.Errorf("steps = %+v, want 8 done, none cached", r.steps)
		}
		step := "[3/4] RUN echo hello bar && echo to-stderr >&2"
		wantLogs := []string{"1:" + step + ":hello bar", "2:" + step + ":to-stderr"}
		if got := r.logs(); !slices.Equal(got, wantLogs) {
			t.Errorf("logs:\n got %q\nwant %q", got, wantLogs)
		}
		golden(t, "rawjson-ok.golden.json", r.events)
	})
	t.Run("cached", func(t *testing.T) {
		r := replay(t, mk, false, map[int]string{2: "rawjson-cached.stderr"})
		if r.steps != (driver.StepCount{Total: 8, Cached: 4}) {
			t.Errorf("steps = %+v, want 8 done and 4 cached", r.steps)
		}
	})
	t.Run("failed RUN", func(t *testing.T) {
		r := replay(t, mk, true, map[int]string{2: "rawjson-fail.stderr"})
		if got := r.parser.failedStep(); got != "[4/4] RUN exit 3" {
			t.Errorf("failedStep = %q", got)
		}
		if !strings.Contains(r.tail.String(), "ERROR: failed to solve") {
			t.Errorf("tail lacks buildx's final error: %s", r.tail)
		}
	})
}

// TestSolveStatusMapping checks every field of the mapping on a status that
// sets them all, warnings included, which the recorded builds lack.
func TestSolveStatusMapping(t *testing.T) {
	line := `{"vertexes":[{"digest":"sha256:aa","inputs":["sha256:bb"],"name":"[2/3] RUN x","started":"2026-01-02T03:04:05Z","completed":"2026-01-02T03:04:06Z","cached":true,"error":"boom","progressGroup":{"id":"g1","name":"grp","weak":true}}],` +
		`"statuses":[{"id":"layer","vertex":"sha256:aa","name":"extracting","total":10,"current":4,"timestamp":"2026-01-02T03:04:05Z","started":"2026-01-02T03:04:05Z","completed":"2026-01-02T03:04:06Z"}],` +
		`"logs":[{"vertex":"sha256:aa","stream":2,"data":"aGkK","timestamp":"2026-01-02T03:04:05Z"}],` +
		`"warnings":[{"vertex":"sha256:aa","level":1,"short":"c2hvcnQ=","detail":["ZDE="],"url":"https://x","sourceInfo":{"filename":"Dockerfile","language":"Dockerfile","data":"RlJPTQ=="},"range":[{"start":{"line":2,"character":1},"end":{"line":3,"character":4}}]}]}`
	r := newRawJSONParser(newTail(5))
	ev := r.line(2, line, time.Now())
	if ev == nil {
		t.Fatal("no event")
	}
	t0, t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)
	want := &driver.Event{
		Vertexes: []driver.Vertex{{Digest: "sha256:aa", Inputs: []string{"sha256:bb"}, Name: "[2/3] RUN x", Started: &t0, Completed: &t1, Cached: true, Error: "boom", Group: &driver.ProgressGroup{ID: "g1", Name: "grp", Weak: true}}},
		Statuses: []driver.Status{{ID: "layer", Vertex: "sha256:aa", Name: "extracting", Total: 10, Current: 4, Timestamp: t0, Started: &t0, Completed: &t1}},
		Logs:     []driver.Log{{Vertex: "sha256:aa", Stream: 2, Data: []byte("hi\n"), Timestamp: t0}},
		Warnings: []driver.Warning{{Vertex: "sha256:aa", Level: 1, Short: []byte("short"), Detail: [][]byte{[]byte("d1")}, URL: "https://x",
			SourceInfo: &driver.SourceInfo{Filename: "Dockerfile", Language: "Dockerfile", Data: []byte("FROM")},
			Ranges:     []driver.Range{{StartLine: 2, StartChar: 1, EndLine: 3, EndChar: 4}}}},
	}
	got, _ := json.Marshal(ev)
	exp, _ := json.Marshal(want)
	if !bytes.Equal(got, exp) {
		t.Errorf("mapped:\n got %s\nwant %s", got, exp)
	}
	if r.failedStep() != "[2/3] RUN x" || !r.stepStarted() {
		t.Errorf("failedStep %q stepStarted %v", r.failedStep(), r.stepStarted())
	}
	// A line that is not JSON (buildx's own messages) is kept for errors.
	if ev := r.line(2, "WARNING: something", time.Now()); ev != nil || !strings.Contains(r.tail.String(), "WARNING: something") {
		t.Errorf("plain line: event %v, tail %s", ev, r.tail)
	}
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the events made now (go test -update rewrites it after review)", path)
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"Sending build context to Docker daemon  32kB\rSending build context to Docker daemon  1.9MB\r\r": "Sending build context to Docker daemon  1.9MB",
		"plain":  "plain",
		"crlf\r": "crlf",
	} {
		if got := cleanLine([]byte(in)); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}
