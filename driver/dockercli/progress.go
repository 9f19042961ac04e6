package dockercli

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// lineParser turns the docker CLI's output, line by line, into progress
// events. One exists per build and output format.
type lineParser interface {
	// line parses one line of stream (1 stdout, 2 stderr) read at now and
	// returns the event it makes, or nil.
	line(stream int, s string, now time.Time) *driver.Event
	// end closes what is still open once docker has exited.
	end(failed bool, now time.Time) *driver.Event
	// failedStep names the build step that failed, or "" if none did.
	failedStep() string
	// stepStarted reports whether a build step (not the loading of the
	// Dockerfile and context) started.
	stepStarted() bool
}

// progress feeds both output streams of one docker process into its
// parser, sends the events to the sink one at a time, and keeps the last
// lines worth showing in an error.
type progress struct {
	mu     sync.Mutex
	parser lineParser
	sink   driver.Sink
	tail   *tail
	now    func() time.Time
}

func newProgress(p lineParser, t *tail, sink driver.Sink) *progress {
	return &progress{parser: p, tail: t, sink: sink, now: time.Now}
}

func (p *progress) handle(stream int, s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev := p.parser.line(stream, s, p.now()); ev != nil {
		p.sink.Send(ev)
	}
}

// finish closes the parser; call it after the process and its output
// copying have ended.
func (p *progress) finish(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev := p.parser.end(failed, p.now()); ev != nil {
		p.sink.Send(ev)
	}
}

// writer returns an io.Writer for one stream that hands complete lines to
// the parser. Call flush on it after the process ended.
func (p *progress) writer(stream int) *lineWriter {
	return &lineWriter{p: p, stream: stream}
}

// lineWriter splits a stream into lines. exec.Cmd writes to it from one
// goroutine per stream.
type lineWriter struct {
	p      *progress
	stream int
	buf    []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.p.handle(w.stream, cleanLine(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	// Keep the buffer from growing without bound on a stream that never
	// ends a line; a line that long is not progress anyone reads.
	if len(w.buf) > 1<<20 {
		w.p.handle(w.stream, cleanLine(w.buf))
		w.buf = nil
	}
	return len(b), nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.p.handle(w.stream, cleanLine(w.buf))
		w.buf = nil
	}
}

// cleanLine keeps what a terminal would show last on a line that redraws
// itself with carriage returns ("Sending build context ... 1.9MB\r\r").
func cleanLine(b []byte) string {
	s := strings.TrimRight(string(b), "\r")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// tail keeps the last lines of docker's output that explain a failure.
type tail struct {
	max   int
	lines []string
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) add(s string) {
	s = strings.TrimRight(s, " \t")
	if strings.TrimSpace(s) == "" {
		return
	}
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) reset() { t.lines = t.lines[:0] }

func (t *tail) String() string {
	if len(t.lines) == 0 {
		return "(docker printed nothing)"
	}
	return "\n  " + strings.Join(t.lines, "\n  ")
}
