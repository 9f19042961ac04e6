package launch

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
)

func TestArrivedLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    request.Request
		want []string
	}{
		{"run", request.Request{ID: "r-1", Slug: "demo", Kind: bottleapi.KindCapability, State: bottleapi.StatePending, Name: "jq", Run: []string{"apk add jq"}},
			[]string{"bottle demo asks for capability jq (run: apk add jq)", "approve: claude-bottle request approve r-1"}},
		{"packages", request.Request{ID: "r-2", Slug: "demo", Kind: bottleapi.KindCapability, State: bottleapi.StatePending, Name: "tools", Packages: []string{"jq", "curl"}},
			[]string{"(packages: jq curl)"}},
		{"suggestion", request.Request{ID: "r-3", Slug: "demo", Kind: bottleapi.KindCapability, State: bottleapi.StateSuggested, Name: "make"},
			[]string{"bottle demo may need", "capability make;", "request approve r-3"}},
		{"hostile", request.Request{ID: "r-4", Slug: "demo", Kind: bottleapi.KindCapability, State: bottleapi.StatePending, Name: "x\x1b[2J\nfake", Run: []string{strings.Repeat("a", 200)}},
			[]string{"x [2J fake", "…)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := arrived(&tc.r)
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("line %q lacks %q", line, w)
				}
			}
			if strings.ContainsAny(line, "\x1b\n\r") {
				t.Errorf("line %q carries control characters", line)
			}
		})
	}
}

func TestNoticesRaw(t *testing.T) {
	var buf bytes.Buffer
	n := notices{mu: &sync.Mutex{}, w: &buf, raw: true}
	n.say("bottle %s restarted", "demo")
	if got, want := buf.String(), "\r\nclaude-bottle: bottle demo restarted\r\n"; got != want {
		t.Errorf("raw notice = %q, want %q", got, want)
	}
	buf.Reset()
	n.raw = false
	n.say("x")
	if got := buf.String(); got != "claude-bottle: x\n" {
		t.Errorf("notice = %q", got)
	}
}

// TestStdinRelay: what one run's reader did not take goes to the next,
// and a detached reader ends without taking anything.
func TestStdinRelay(t *testing.T) {
	pr, pw := io.Pipe()
	relay := newStdinRelay(pr)
	first := relay.attach()
	go pw.Write([]byte("ab"))
	buf := make([]byte, 1)
	if n, err := first.Read(buf); n != 1 || err != nil || buf[0] != 'a' {
		t.Fatalf("first read = %d %v %q", n, err, buf[:n])
	}
	first.detach()
	if n, err := first.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("detached read = %d %v, want EOF", n, err)
	}
	second := relay.attach()
	go func() { time.Sleep(10 * time.Millisecond); pw.Write([]byte("c")); pw.Close() }()
	got, _ := io.ReadAll(second)
	if string(got) != "bc" {
		t.Errorf("second run read %q, want bc", got)
	}
}
