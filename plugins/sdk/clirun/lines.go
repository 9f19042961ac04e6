package clirun

import (
	"bytes"
	"strings"
	"sync"
)

// CleanLine turns raw output up to a newline into the line a terminal
// would show: without the line end, and, for a line that redraws itself
// with carriage returns ("Sending build context 1.2MB\r... 1.9MB"), what
// was drawn last.
func CleanLine(b []byte) string {
	s := strings.TrimRight(string(b), "\r\n")
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// LineWriter is an io.Writer that calls a function for every line written
// to it, for output that is not read through Run (a library writing to an
// io.Writer). Call Flush once the writing is over.
type LineWriter struct {
	mu  sync.Mutex
	fn  func(line string)
	buf []byte
}

// NewLineWriter returns a LineWriter calling fn with each line, cleaned as
// CleanLine does.
func NewLineWriter(fn func(line string)) *LineWriter { return &LineWriter{fn: fn} }

// Write passes on every line p completes.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(CleanLine(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.fn(CleanLine(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// Flush passes on a last line that had no line end.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(CleanLine(w.buf))
		w.buf = nil
	}
}

// Tail keeps the last lines of a CLI's output, for the error that says why
// it failed. It is safe for concurrent use.
type Tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

// NewTail returns a Tail keeping the last max lines.
func NewTail(max int) *Tail { return &Tail{max: max} }

// Add keeps line, unless it is blank.
func (t *Tail) Add(line string) {
	line = strings.TrimRight(line, " \t")
	if strings.TrimSpace(line) == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-t.max:]...)
	}
}

// Lines returns the lines kept, oldest first.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// String renders the lines for an error message, one per indented line
// after a line break, or "(no output)".
func (t *Tail) String() string {
	lines := t.Lines()
	if len(lines) == 0 {
		return " (no output)"
	}
	return "\n  " + strings.Join(lines, "\n  ")
}
