package main

import (
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// progress turns buildah's output into driver events: "STEP n/N: X" opens
// a step (a Vertex), "--> Using cache ID" marks it cached, "--> ID" or the
// next step completes it, COMMIT opens the commit step; every other line is
// a Log of the step in progress. buildah writes from two pipes, so Send is
// serialised here.
type progress struct {
	mu    sync.Mutex
	sink  driver.Sink
	cur   *driver.Vertex
	tail  []string // last lines, for the error message
	steps int
	now   func() time.Time
}

var stepRE = regexp.MustCompile(`^STEP (\d+)/(\d+): (.*)$`)

const tailMax = 8

func newProgress(sink driver.Sink) *progress {
	return &progress{sink: sink, now: time.Now}
}

// line handles one line of buildah's output; stream is 1 (stdout) or 2.
func (p *progress) line(stream int, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keep(line)
	if stream == 1 {
		switch m := stepRE.FindStringSubmatch(line); {
		case m != nil:
			p.open("step-"+m[1], "["+m[1]+"/"+m[2]+"] "+m[3])
			return
		case strings.HasPrefix(line, "--> Using cache "):
			if p.cur != nil {
				p.cur.Cached = true
				p.complete()
			}
			return
		case strings.HasPrefix(line, "--> "):
			p.complete()
			return
		case strings.HasPrefix(line, "COMMIT "):
			p.open("commit", "exporting: "+line)
			return
		}
	}
	vertex := ""
	if p.cur != nil {
		vertex = p.cur.Digest
	}
	p.sink.Send(&driver.Event{Logs: []driver.Log{{Vertex: vertex, Stream: stream, Data: []byte(line + "\n"), Timestamp: p.now()}}})
}

// begin starts a step of the driver's own (not one buildah prints).
func (p *progress) begin(digest, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open(digest, name)
}

// open completes the current step and starts the next.
func (p *progress) open(digest, name string) {
	p.complete()
	now := p.now()
	p.cur = &driver.Vertex{Digest: digest, Name: name, Started: &now}
	p.steps++
	p.sink.Send(&driver.Event{Vertexes: []driver.Vertex{*p.cur}})
}

// complete marks the current step done.
func (p *progress) complete() {
	if p.cur == nil {
		return
	}
	now := p.now()
	p.cur.Completed = &now
	p.sink.Send(&driver.Event{Vertexes: []driver.Vertex{*p.cur}})
	p.cur = nil
}

// finish ends the output: the current step completes, or fails with
// errText. It returns the failed step's name.
func (p *progress) finish(errText string) (failed string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if errText == "" || p.cur == nil {
		p.complete()
		return ""
	}
	now := p.now()
	p.cur.Completed, p.cur.Error = &now, errText
	p.sink.Send(&driver.Event{Vertexes: []driver.Vertex{*p.cur}})
	failed, p.cur = p.cur.Name, nil
	return failed
}

func (p *progress) keep(line string) {
	if strings.TrimSpace(line) == "" {
		return
	}
	p.tail = append(p.tail, line)
	if len(p.tail) > tailMax {
		p.tail = p.tail[len(p.tail)-tailMax:]
	}
}

// lastLines returns buildah's last output lines.
func (p *progress) lastLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tail...)
}
