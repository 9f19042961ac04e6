package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		mode, env string
		terminal  bool
		want      progressui.DisplayMode
		err       string
	}{
		{"auto", "", true, progressui.TtyMode, ""},
		{"auto", "", false, progressui.PlainMode, ""},
		{"", "", false, progressui.PlainMode, ""},
		{"tty", "", false, progressui.TtyMode, ""},
		{"plain", "", true, progressui.PlainMode, ""},
		{"rawjson", "", false, progressui.RawJSONMode, ""},
		{"quiet", "", false, progressui.QuietMode, ""},
		{"fancy", "", true, "", `unknown progress mode "fancy": want one of auto, tty, plain, rawjson, quiet`},
		{"PLAIN", "", false, "", `"PLAIN"`},
		// $BUILDKIT_PROGRESS stands in for auto, and only for auto (buildx).
		{"auto", "rawjson", true, progressui.RawJSONMode, ""},
		{"", "quiet", false, progressui.QuietMode, ""},
		{"auto", "auto", true, progressui.TtyMode, ""},
		{"plain", "rawjson", false, progressui.PlainMode, ""},
		{"auto", "loud", false, "", `unknown $BUILDKIT_PROGRESS "loud"`},
	}
	for _, tc := range tests {
		got, err := ParseMode(tc.mode, tc.env, tc.terminal)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMode(%q) = %q, %v; want an error saying %s", tc.mode, got, err, tc.err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("ParseMode(%q, %q, %v) = %q, %v; want %q", tc.mode, tc.env, tc.terminal, got, err, tc.want)
		}
	}
}

// TestPrinterConcurrentBuilds: two labelled builds that share a step's
// digest print as two steps each, and events after Wait are dropped.
func TestPrinterConcurrentBuilds(t *testing.T) {
	var out bytes.Buffer
	p, err := NewPrinter(context.Background(), &out, progressui.PlainMode)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, label := range []string{"bot-a", "bot-b"} {
		wg.Go(func() { p.Label(label).Send(twoSteps()) })
	}
	wg.Wait()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	p.Send(twoSteps()) // after Wait: dropped, neither blocking nor panicking
	for _, want := range []string{"[bot-a] make", "[bot-b] make", "[bot-a 1/2] FROM scratch", "[bot-b 1/2] FROM scratch", "made"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plain output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPrinterRawJSON: rawjson mode prints each event as BuildKit's own
// SolveStatus JSON, digests and all.
func TestPrinterRawJSON(t *testing.T) {
	var out bytes.Buffer
	p, err := NewPrinter(context.Background(), &out, progressui.RawJSONMode)
	if err != nil {
		t.Fatal(err)
	}
	p.Send(twoSteps())
	p.Send(nil)
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Vertexes []struct{ Digest, Name string }
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		t.Fatalf("rawjson line %q: %v", line, err)
	}
	if got, want := fmt.Sprint(st.Vertexes), fmt.Sprintf("[{%s [1/2] FROM scratch} {%s [2/2] RUN make}]", digest.FromString("a"), digest.FromString("b")); got != want {
		t.Errorf("rawjson vertexes = %s", got)
	}
}

// TestPrinterRawJSONConcurrentBuilds: two labelled builds in rawjson mode
// give pure JSON lines whose vertex digests are real digests (buildx's
// rawjson), told apart by their labelled names.
func TestPrinterRawJSONConcurrentBuilds(t *testing.T) {
	var out bytes.Buffer
	p, err := NewPrinter(context.Background(), &out, progressui.RawJSONMode)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, label := range []string{"bot-a", "bot-b"} {
		wg.Go(func() { p.Label(label).Send(twoSteps()) })
	}
	wg.Wait()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var st client.SolveStatus
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, v := range st.Vertexes {
			if err := v.Digest.Validate(); err != nil {
				t.Errorf("vertex %q has digest %q: %v", v.Name, v.Digest, err)
			}
			for _, in := range v.Inputs {
				if err := in.Validate(); err != nil {
					t.Errorf("vertex %q has input %q: %v", v.Name, in, err)
				}
			}
			names[v.Name] = true
		}
		for _, l := range st.Logs {
			if err := l.Vertex.Validate(); err != nil {
				t.Errorf("log of vertex %q: %v", l.Vertex, err)
			}
		}
	}
	for _, want := range []string{"[bot-a 2/2] RUN make", "[bot-b 2/2] RUN make"} {
		if !names[want] {
			t.Errorf("no vertex named %q in %v", want, names)
		}
	}
}

func TestNewPrinterRefusesTTYOnAFile(t *testing.T) {
	if _, err := NewPrinter(context.Background(), &bytes.Buffer{}, progressui.TtyMode); err == nil {
		t.Error("a tty display on a buffer was accepted")
	}
}
