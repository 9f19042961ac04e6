package capability

import (
	"bytes"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
)

// DefaultTailLines is how many of a failed step's last log lines a
// Capture keeps by default.
const DefaultTailLines = 12

// Capture is a driver.Sink that remembers each build step's name, error
// and last log lines, and forwards every event to Next. Apply wraps the
// caller's sink in one to name a failed step and quote its output; a
// caller may use it on its own builds the same way.
type Capture struct {
	// Next receives every event; nil drops them.
	Next driver.Sink
	// Lines is how many log lines a step keeps (DefaultTailLines if 0).
	Lines int

	mu     sync.Mutex
	steps  map[string]*step
	failed []string // digests of failed steps, in the order they failed
}

type step struct {
	name    string
	err     string
	partial []byte
	lines   []string
}

// Send records ev and forwards it.
func (c *Capture) Send(ev *driver.Event) {
	c.mu.Lock()
	if c.steps == nil {
		c.steps = map[string]*step{}
	}
	for _, v := range ev.Vertexes {
		s := c.step(v.Digest)
		if v.Name != "" {
			s.name = v.Name
		}
		if v.Error != "" && s.err == "" {
			s.err = v.Error
			// When one step fails, BuildKit cancels the steps running
			// beside it; those are not the step that failed.
			if !strings.Contains(v.Error, "context canceled") {
				c.failed = append(c.failed, v.Digest)
			}
		}
	}
	for _, l := range ev.Logs {
		c.step(l.Vertex).log(l.Data, c.max())
	}
	c.mu.Unlock()
	if c.Next != nil {
		c.Next.Send(ev)
	}
}

func (c *Capture) max() int {
	if c.Lines > 0 {
		return c.Lines
	}
	return DefaultTailLines
}

func (c *Capture) step(digest string) *step {
	s, ok := c.steps[digest]
	if !ok {
		s = &step{}
		c.steps[digest] = s
	}
	return s
}

func (s *step) log(data []byte, max int) {
	s.partial = append(s.partial, data...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(s.partial[:i]), "\r \t"); strings.TrimSpace(line) != "" {
			s.lines = append(s.lines, line)
		}
		s.partial = s.partial[i+1:]
	}
	if len(s.lines) > max {
		s.lines = s.lines[len(s.lines)-max:]
	}
}

// FailedStep is a build step that failed: its name as the driver showed
// it, its error, and its last log lines.
type FailedStep struct {
	Name  string
	Error string
	Lines []string
}

// Failed returns the first step that failed, if one did.
func (c *Capture) Failed() (FailedStep, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) == 0 {
		return FailedStep{}, false
	}
	s := c.steps[c.failed[0]]
	lines := append([]string(nil), s.lines...)
	if p := strings.TrimSpace(string(s.partial)); p != "" {
		lines = append(lines, p)
	}
	if len(lines) > c.max() {
		lines = lines[len(lines)-c.max():]
	}
	return FailedStep{Name: s.name, Error: s.err, Lines: lines}, true
}
