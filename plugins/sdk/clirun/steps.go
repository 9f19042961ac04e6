package clirun

import (
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Steps turns the output of a CLI that runs one step at a time into
// progress events: Start opens a step (a driver.Vertex), which the next
// Start, Complete, Cached or Fail ends; Log sends a line of output as a
// log of the step in progress. It is safe for concurrent use, and sends to
// Sink one event at a time. Wrap Sink in a driver.StepCounter to fill
// Result.Steps.
type Steps struct {
	// Sink receives the events; nil drops them.
	Sink driver.Sink
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	cur    *driver.Vertex
	failed string
}

// Start completes the step in progress, if any, and starts the step
// called name; id identifies it among the build's steps.
func (s *Steps) Start(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completeLocked(false)
	now := s.now()
	s.cur = &driver.Vertex{Digest: id, Name: name, Started: &now}
	s.send(&driver.Event{Vertexes: []driver.Vertex{*s.cur}})
}

// Complete ends the step in progress, if any.
func (s *Steps) Complete() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completeLocked(false)
}

// Cached ends the step in progress, if any, as taken from the cache.
func (s *Steps) Cached() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.completeLocked(true)
}

// Fail ends the step in progress, if any, as failed with msg, and returns
// its name ("" if no step was in progress).
func (s *Steps) Fail(msg string) (name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return ""
	}
	now := s.now()
	s.cur.Completed, s.cur.Error = &now, msg
	s.send(&driver.Event{Vertexes: []driver.Vertex{*s.cur}})
	name, s.cur = s.cur.Name, nil
	if s.failed == "" {
		s.failed = name
	}
	return name
}

// Failed returns the name of the first step that failed, or "".
func (s *Steps) Failed() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Log sends line, of stream 1 (stdout) or 2 (stderr), as output of the
// step in progress (of no step, before the first).
func (s *Steps) Log(stream int, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vertex := ""
	if s.cur != nil {
		vertex = s.cur.Digest
	}
	s.send(&driver.Event{Logs: []driver.Log{{Vertex: vertex, Stream: stream, Data: []byte(line + "\n"), Timestamp: s.now()}}})
}

func (s *Steps) completeLocked(cached bool) {
	if s.cur == nil {
		return
	}
	now := s.now()
	s.cur.Completed, s.cur.Cached = &now, cached
	s.send(&driver.Event{Vertexes: []driver.Vertex{*s.cur}})
	s.cur = nil
}

func (s *Steps) send(ev *driver.Event) {
	if s.Sink != nil {
		s.Sink.Send(ev)
	}
}

func (s *Steps) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
