package driver

import (
	"sync"
	"time"
)

// Sink receives a build's progress. Drivers call Send from one goroutine at
// a time per build; a Sink shared by concurrent builds must lock.
type Sink interface {
	Send(ev *Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ev *Event)

// Send calls f(ev).
func (f SinkFunc) Send(ev *Event) { f(ev) }

// Discard is a Sink that drops every event.
var Discard Sink = SinkFunc(func(*Event) {})

// Event is one batch of progress, shaped so that BuildKit's SolveStatus maps
// onto it field by field and back without loss, while naming no BuildKit
// type: a step is a Vertex (started, done, cached, errored), a transfer or
// sub-task is a Status, output lines are Logs, and lint findings are
// Warnings. Drivers with no vertex graph (the legacy builder) make one
// Vertex per Dockerfile step.
type Event struct {
	Vertexes []Vertex  `json:"vertexes,omitempty"`
	Statuses []Status  `json:"statuses,omitempty"`
	Logs     []Log     `json:"logs,omitempty"`
	Warnings []Warning `json:"warnings,omitempty"`
}

// Vertex is one step of the build.
type Vertex struct {
	// Digest identifies the step within the build.
	Digest string `json:"digest"`
	// Inputs are the digests of the steps this one depends on.
	Inputs []string `json:"inputs,omitempty"`
	// Name is what the user sees ("[2/3] RUN make").
	Name      string         `json:"name,omitempty"`
	Started   *time.Time     `json:"started,omitempty"`
	Completed *time.Time     `json:"completed,omitempty"`
	Cached    bool           `json:"cached,omitempty"`
	Error     string         `json:"error,omitempty"`
	Group     *ProgressGroup `json:"group,omitempty"`
}

// ProgressGroup groups vertexes that a UI shows as one line.
type ProgressGroup struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Weak bool   `json:"weak,omitempty"`
}

// Status is the progress of a sub-task of a step (a layer transfer).
type Status struct {
	ID        string     `json:"id"`
	Vertex    string     `json:"vertex,omitempty"`
	Name      string     `json:"name,omitempty"`
	Total     int64      `json:"total,omitempty"`
	Current   int64      `json:"current"`
	Timestamp time.Time  `json:"timestamp"`
	Started   *time.Time `json:"started,omitempty"`
	Completed *time.Time `json:"completed,omitempty"`
}

// Log is output of a step: Stream 1 is stdout, 2 is stderr.
type Log struct {
	Vertex    string    `json:"vertex,omitempty"`
	Stream    int       `json:"stream,omitempty"`
	Data      []byte    `json:"data"`
	Timestamp time.Time `json:"timestamp"`
}

// Warning is a build warning (a Dockerfile lint finding).
type Warning struct {
	Vertex     string      `json:"vertex,omitempty"`
	Level      int         `json:"level,omitempty"`
	Short      []byte      `json:"short,omitempty"`
	Detail     [][]byte    `json:"detail,omitempty"`
	URL        string      `json:"url,omitempty"`
	SourceInfo *SourceInfo `json:"source_info,omitempty"`
	Ranges     []Range     `json:"ranges,omitempty"`
}

// SourceInfo names the file a warning points into.
type SourceInfo struct {
	Filename   string `json:"filename"`
	Language   string `json:"language,omitempty"`
	Data       []byte `json:"data,omitempty"`
	Definition []byte `json:"definition,omitempty"`
}

// Range is a span of lines and characters in a source file.
type Range struct {
	StartLine int32 `json:"start_line"`
	StartChar int32 `json:"start_char,omitempty"`
	EndLine   int32 `json:"end_line"`
	EndChar   int32 `json:"end_char,omitempty"`
}

// StepCounter is a Sink that counts distinct completed steps and how many of
// them were cached, forwarding every event to Next. Drivers use it to fill
// Result.Steps the same way whatever their progress source.
type StepCounter struct {
	Next Sink

	mu     sync.Mutex
	done   map[string]bool
	cached map[string]bool
}

// Send counts ev's completed vertexes and forwards ev.
func (c *StepCounter) Send(ev *Event) {
	c.mu.Lock()
	if c.done == nil {
		c.done, c.cached = map[string]bool{}, map[string]bool{}
	}
	for _, v := range ev.Vertexes {
		if v.Completed != nil || v.Cached {
			c.done[v.Digest] = true
		}
		if v.Cached {
			c.cached[v.Digest] = true
		}
	}
	c.mu.Unlock()
	if c.Next != nil {
		c.Next.Send(ev)
	}
}

// Count returns the steps seen so far.
func (c *StepCounter) Count() StepCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return StepCount{Total: len(c.done), Cached: len(c.cached)}
}
