package plugins

import (
	"github.com/claude-bottle/claude-bottle/internal/termsafe"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// tail keeps the last lines a plugin logged, for the error that reports its
// crash. A Go panic's first line is kept apart with the lines after it, as
// the panic message would otherwise scroll out behind the goroutine dump.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	panic []string
}

const (
	tailLines    = 20
	tailPanic    = 12
	tailLineSize = 400
)

func newTail() *tail { return &tail{max: tailLines} }

// add records one line.
func (t *tail) add(line string) {
	// The lines end up in crash reports on the user's terminal.
	line = termsafe.Text(strings.TrimRight(line, "\r\n"))
	if line == "" {
		return
	}
	if len(line) > tailLineSize {
		line = line[:tailLineSize] + "..."
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if wire.PanicStart(line) && t.panic == nil {
		t.panic = []string{line}
	} else if t.panic != nil && len(t.panic) < tailPanic {
		t.panic = append(t.panic, line)
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = append(t.lines[:0], t.lines[len(t.lines)-t.max:]...)
	}
}

// last returns the lines worth showing: the panic if there was one, else
// the last lines.
func (t *tail) last() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.panic != nil {
		return append([]string(nil), t.panic...)
	}
	return append([]string(nil), t.lines...)
}
