package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// event is one server-sent event.
type event struct{ name, data string }

// readEvents reads server-sent events from a stream into a channel,
// closed when the stream ends.
func readEvents(r *bufio.Reader) <-chan event {
	ch := make(chan event, 64)
	go func() {
		defer close(ch)
		var e event
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				e.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				e.data = strings.TrimPrefix(line, "data: ")
			case line == "" && e.name != "":
				ch <- e
				e = event{}
			}
		}
	}()
	return ch
}

// next returns the next event, or ok false when none comes within wait.
func next(t *testing.T, events <-chan event, wait time.Duration) (event, bool) {
	t.Helper()
	select {
	case e, open := <-events:
		if !open {
			t.Fatal("the event stream ended")
		}
		return e, true
	case <-time.After(wait):
		return event{}, false
	}
}

// TestEventsFollowTheState: a page's stream starts with the overview
// (here saying the engine cannot be reached, in one line that says what
// to do), and a change in the state folder (a bottle's request) sends
// "changed" within the poll.
func TestEventsFollowTheState(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.o.Poll = 50 * time.Millisecond
	go ts.srv.watch(ts.srv.ctx)
	res := ts.do(call{method: "GET", path: "/api/events", cookie: ts.cookie})
	if ct := res.Header.Get("Content-Type"); res.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, ct)
	}
	events := readEvents(bufio.NewReader(res.Body))
	first, ok := next(t, events, 10*time.Second)
	var ov Overview
	if err := json.Unmarshal([]byte(first.data), &ov); !ok || first.name != "overview" || err != nil {
		t.Fatalf("first event %+v (%v)", first, err)
	}
	if !strings.Contains(ov.Problem, "is dockerd running?") || strings.Contains(ov.Problem, "\n") || len(ov.Bottles) != 0 {
		t.Errorf("overview without an engine: %+v", ov)
	}
	// What the start said settles, and an engine that stays away is not
	// news again and again.
	for {
		if _, ok := next(t, events, 3*time.Second); !ok {
			break
		}
	}
	if _, err := ts.srv.requests.Create(context.Background(), "demo", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "jq", Run: []string{"echo jq"}, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	e, ok := next(t, events, 5*time.Second)
	if !ok || e.name != "changed" {
		t.Errorf("after a request was written: %+v (seen: %v)", e, ok)
	}
}

// A page that reads no events is dropped once its buffer is full, so it
// never holds the others up; its stream reconnects from the current state.
func TestHubDropsASlowPage(t *testing.T) {
	h := newHub()
	slow, _ := h.subscribe()
	fast, stop := h.subscribe()
	defer stop()
	for i := range 200 {
		h.publish(message{event: "x", data: []byte{byte(i)}})
		<-fast
	}
	n := 0
	for range slow {
		n++
	}
	if n != cap(slow) {
		t.Errorf("the slow page got %d events before it was dropped, want its buffer's %d", n, cap(slow))
	}
	h.close()
	if _, ok := <-fast; ok {
		t.Error("close left a subscription open")
	}
}
