package sdk

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// slowStream records what is sent, taking a while per message, as a
// stream to a busy host does.
type slowStream struct {
	mu    sync.Mutex
	msgs  [][]*pb.Event
	delay time.Duration
	fail  error
}

func (s *slowStream) Send(r *pb.BuildResponse) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.msgs = append(s.msgs, r.Events)
	return nil
}

func TestEventSenderKeepsOrderAndBatches(t *testing.T) {
	st := &slowStream{delay: time.Millisecond}
	s := newEventSender(st)
	const n = 5000
	for i := 0; i < n; i++ {
		s.Send(&driver.Event{Vertexes: []driver.Vertex{{Digest: strconv.Itoa(i)}}})
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	next := 0
	for _, msg := range st.msgs {
		if len(msg) > maxBatch {
			t.Errorf("a message holds %d events, more than %d", len(msg), maxBatch)
		}
		for _, ev := range msg {
			if ev.Vertexes[0].Digest != strconv.Itoa(next) {
				t.Fatalf("event %s arrived where %d was due", ev.Vertexes[0].Digest, next)
			}
			next++
		}
	}
	if next != n {
		t.Errorf("%d events sent, want %d", next, n)
	}
	if len(st.msgs) >= n/10 {
		t.Errorf("%d messages for %d events: no batching", len(st.msgs), n)
	}
}

func TestEventSenderStopsAfterSendError(t *testing.T) {
	st := &slowStream{fail: errors.New("host gone")}
	s := newEventSender(st)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 3*maxPending; i++ { // would block forever if errors did not unblock Send
			s.Send(&driver.Event{})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked after the stream failed")
	}
	if err := s.close(); err == nil {
		t.Error("close did not report the send error")
	}
}
