package capability

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

// TestLocate maps failed steps, as each driver names them, to the
// capability whose instructions they are.
func TestLocate(t *testing.T) {
	r, err := Render([]byte("FROM scratch\nRUN make base\n"), []Capability{
		layer("jq", "RUN echo jq > /etc/jq"),
		layer("multi", "ENV A=1\nRUN apt-get update \\\n    && apt-get install -y curl"),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ step, want string }{
		{"[stage-0 3/4] RUN echo jq > /etc/jq", "jq"},                                // BuildKit
		{"[3/6] RUN echo jq > /etc/jq", "jq"},                                        // buildah, docker's plain output
		{"[stage-0 4/4] RUN apt-get update     && apt-get install -y curl", "multi"}, // continuation joined
		{"[stage-0 4/4] RUN apt-get update && apt-get install -y curl", "multi"},
		{"[2/4] RUN make base", ""},
		{"", ""},
	} {
		got, ok := r.Locate(tc.step)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Locate(%q) = %q, %v; want %q", tc.step, got, ok, tc.want)
		}
	}
	// Without a failed step, the error's line or quoted command tells.
	path := "/state/demo/.Dockerfile.tmp-pending-1"
	line := r.Layers[1].End - 1
	for _, tc := range []struct{ text, want string }{
		{fmt.Sprintf("build failed: step %q at %q line %d: exit code: 100", "x", path, line), "multi"},
		{`process "/bin/sh -c echo jq > /etc/jq" did not complete successfully: exit code: 1`, "jq"},
		{fmt.Sprintf("build failed at %q line 2: exit code: 2", path), ""},
	} {
		got, ok := r.locateInError(tc.text, path)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("locateInError(%q) = %q, %v; want %q", tc.text, got, ok, tc.want)
		}
	}
}

func TestCaptureKeepsTheFailedStepsLastLines(t *testing.T) {
	var forwarded int
	c := &Capture{Lines: 3, Next: driver.SinkFunc(func(*driver.Event) { forwarded++ })}
	c.Send(&driver.Event{Vertexes: []driver.Vertex{{Digest: "a", Name: "[1/2] RUN ok"}, {Digest: "b", Name: "[2/2] RUN bad"}}})
	c.Send(&driver.Event{Logs: []driver.Log{{Vertex: "a", Data: []byte("fine\n")}, {Vertex: "b", Data: []byte("one\ntwo\nthr")}}})
	c.Send(&driver.Event{Logs: []driver.Log{{Vertex: "b", Data: []byte("ee\nfour\n\nfive")}}})
	if _, ok := c.Failed(); ok {
		t.Fatal("Failed before any step failed")
	}
	c.Send(&driver.Event{Vertexes: []driver.Vertex{{Digest: "b", Error: "exit code: 1"}}})
	f, ok := c.Failed()
	if !ok || f.Name != "[2/2] RUN bad" || f.Error != "exit code: 1" || strings.Join(f.Lines, "|") != "three|four|five" {
		t.Errorf("Failed() = %+v, %v", f, ok)
	}
	if forwarded != 4 {
		t.Errorf("forwarded %d events, want 4", forwarded)
	}
}

func TestBuildErrorKeepsTheDriversClass(t *testing.T) {
	err := error(&BuildError{Slug: "demo", Capability: "jq", Err: fmt.Errorf("%w: boom", driver.ErrCanceled)})
	if !errors.Is(err, driver.ErrCanceled) {
		t.Error("the driver's class is lost")
	}
	if !strings.HasPrefix(err.Error(), `the build for bottle "demo" was canceled; nothing was changed`) {
		t.Errorf("a canceled build says %q", err)
	}
}

func TestAuditLogSkipsATornLastLine(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "a", "RUN echo a")
	b := w.bottle("demo")
	b.AppendFileAt(AuditFile, []byte(`{"time":"2026-12-01T10:00:00Z","act`))
	log, err := Log(w.store, "demo")
	if err != nil || len(log) != 1 {
		t.Fatalf("Log with a torn last line = %d entries, %v", len(log), err)
	}
	b.AppendFileAt(AuditFile, []byte("\n{}\n"))
	if _, err := Log(w.store, "demo"); err == nil || !strings.Contains(err.Error(), "line 2 is damaged") {
		t.Errorf("Log with a damaged line = %v", err)
	}
}
