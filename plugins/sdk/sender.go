package sdk

import (
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// eventSender is the driver.Sink a plugin's Build writes to. It converts
// each event at once (so the driver may reuse it) and queues it; one
// goroutine sends the queue, packing every event that arrived while the
// previous message was on its way into the next one. A slow driver's events
// leave one by one with no added latency; a fast driver's leave in batches,
// which costs far fewer messages. The queue is bounded: a driver outrunning
// the host waits.
type eventSender struct {
	stream interface {
		Send(*pb.BuildResponse) error
	}

	mu      sync.Mutex
	cond    *sync.Cond
	pending []*pb.Event
	closing bool
	err     error
	done    chan struct{}
}

const (
	maxBatch   = 512  // events per message
	maxPending = 4096 // events queued before Send blocks
)

func newEventSender(stream interface {
	Send(*pb.BuildResponse) error
}) *eventSender {
	s := &eventSender{stream: stream, done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	go s.loop()
	return s
}

// Send queues ev. After the host has gone, events are dropped.
func (s *eventSender) Send(ev *driver.Event) {
	if ev == nil {
		return
	}
	pe := wire.EventToPB(ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pending) >= maxPending && s.err == nil {
		s.cond.Wait()
	}
	if s.err != nil || s.closing {
		return
	}
	s.pending = append(s.pending, pe)
	if len(s.pending) == 1 {
		s.cond.Broadcast()
	}
}

func (s *eventSender) loop() {
	defer close(s.done)
	s.mu.Lock()
	for {
		for len(s.pending) == 0 && !s.closing {
			s.cond.Wait()
		}
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return
		}
		batch := s.pending
		if len(batch) > maxBatch {
			batch = batch[:maxBatch:maxBatch]
			s.pending = s.pending[maxBatch:]
		} else {
			s.pending = nil
		}
		s.cond.Broadcast() // room for a blocked Send
		s.mu.Unlock()
		err := s.stream.Send(&pb.BuildResponse{Events: batch})
		s.mu.Lock()
		if err != nil {
			s.err, s.pending = err, nil
			s.cond.Broadcast()
			s.mu.Unlock()
			return
		}
	}
}

// close sends what is queued and stops the sender. It returns the first
// send error.
func (s *eventSender) close() error {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
