package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/util/progress/progressui"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		mode     string
		terminal bool
		want     progressui.DisplayMode
		err      string
	}{
		{"auto", true, progressui.TtyMode, ""},
		{"auto", false, progressui.PlainMode, ""},
		{"", false, progressui.PlainMode, ""},
		{"tty", false, progressui.TtyMode, ""},
		{"plain", true, progressui.PlainMode, ""},
		{"rawjson", false, progressui.RawJSONMode, ""},
		{"quiet", false, progressui.QuietMode, ""},
		{"fancy", true, "", `unknown progress mode "fancy": want one of auto, tty, plain, rawjson, quiet`},
		{"PLAIN", false, "", `"PLAIN"`},
	}
	for _, tc := range tests {
		got, err := ParseMode(tc.mode, tc.terminal)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMode(%q) = %q, %v; want an error saying %s", tc.mode, got, err, tc.err)
			}
			continue
		}
		if got != tc.want || err != nil {
			t.Errorf("ParseMode(%q, %v) = %q, %v; want %q", tc.mode, tc.terminal, got, err, tc.want)
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
		wg.Go(func() { Label(label, p).Send(twoSteps()) })
	}
	wg.Wait()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	p.Send(twoSteps()) // after Wait: dropped, neither blocking nor panicking
	for _, want := range []string{"[bot-a] [2/2] RUN make", "[bot-b] [2/2] RUN make", "[bot-a] [1/2] FROM scratch", "made"} {
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
	if got := fmt.Sprint(st.Vertexes); got != "[{sha256:a [1/2] FROM scratch} {sha256:b [2/2] RUN make}]" {
		t.Errorf("rawjson vertexes = %s", got)
	}
}

func TestNewPrinterRefusesTTYOnAFile(t *testing.T) {
	if _, err := NewPrinter(context.Background(), &bytes.Buffer{}, progressui.TtyMode); err == nil {
		t.Error("a tty display on a buffer was accepted")
	}
}
