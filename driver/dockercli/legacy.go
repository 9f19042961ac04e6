package dockercli

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// legacyParser reads the legacy builder's output (DOCKER_BUILDKIT=0):
//
//	Step 2/5 : RUN make        a step starts
//	 ---> Running in 82dab84fe011
//	output of the step         (stderr output comes wrapped in ESC[91m)
//	 ---> Using cache          the step is cached
//	 ---> 2194ff6706b5         the step is done (FROM scratch prints " ---> ")
//
// Each step becomes one driver.Vertex with digest "step-N", named as
// BuildKit would ("[2/5] RUN make"); its output becomes Logs.
type legacyParser struct {
	tail    *tail
	cur     *driver.Vertex // the open step
	failed  string
	started bool
	red     bool // inside ESC[91m ... ESC[0m: the step's stderr
}

func newLegacyParser(t *tail) *legacyParser { return &legacyParser{tail: t} }

var (
	legacyStep = regexp.MustCompile(`^Step (\d+)/(\d+) : (.*)$`)
	legacyDone = regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})?$`)
	ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

func (p *legacyParser) line(stream int, raw string, now time.Time) *driver.Event {
	s, isErr := p.uncolor(raw)
	if stream == 2 {
		p.tail.add(s)
		return nil
	}
	if m := legacyStep.FindStringSubmatch(s); m != nil {
		ev := &driver.Event{}
		if prev := p.closeStep(now); prev != nil {
			ev = prev
		}
		p.started = true
		p.cur = &driver.Vertex{Digest: "step-" + m[1], Name: fmt.Sprintf("[%s/%s] %s", m[1], m[2], m[3]), Started: &now}
		ev.Vertexes = append(ev.Vertexes, *p.cur)
		// What explains a failure is the last step's output and docker's
		// error after it, not the steps before (nor the CLI's notice
		// that the legacy builder is deprecated).
		p.tail.reset()
		return ev
	}
	switch {
	case s == " ---> Using cache":
		if p.cur != nil {
			p.cur.Cached = true
			return &driver.Event{Vertexes: []driver.Vertex{*p.cur}}
		}
		return nil
	case legacyDone.MatchString(s):
		return p.closeStep(now)
	case strings.HasPrefix(s, " ---> Running in "), strings.HasPrefix(s, "Removing intermediate container "),
		strings.HasPrefix(s, "Successfully built "), strings.HasPrefix(s, "Successfully tagged "):
		return nil
	case strings.HasPrefix(s, "Sending build context to Docker daemon"):
		return &driver.Event{Statuses: []driver.Status{{ID: "context", Name: s, Timestamp: now}}}
	}
	if w, ok := strings.CutPrefix(strings.TrimPrefix(s, " ---> "), "[Warning] "); ok {
		p.tail.add(s)
		return &driver.Event{Warnings: []driver.Warning{{Vertex: p.vertex(), Short: []byte(w)}}}
	}
	p.tail.add(s)
	streamNo := 1
	if isErr {
		streamNo = 2
	}
	return &driver.Event{Logs: []driver.Log{{Vertex: p.vertex(), Stream: streamNo, Data: []byte(s + "\n"), Timestamp: now}}}
}

// uncolor strips ANSI colours from a line and tells whether any visible
// part of it was in the red the engine wraps a step's stderr in. The red
// may start on one line and end at the start of a later one.
func (p *legacyParser) uncolor(s string) (string, bool) {
	isErr, at := false, 0
	for _, loc := range ansiEscape.FindAllStringIndex(s, -1) {
		if p.red && strings.TrimSpace(s[at:loc[0]]) != "" {
			isErr = true
		}
		switch s[loc[0]:loc[1]] {
		case "\x1b[91m":
			p.red = true
		case "\x1b[0m":
			p.red = false
		}
		at = loc[1]
	}
	if p.red && strings.TrimSpace(s[at:]) != "" {
		isErr = true
	}
	return ansiEscape.ReplaceAllString(s, ""), isErr
}

func (p *legacyParser) vertex() string {
	if p.cur == nil {
		return ""
	}
	return p.cur.Digest
}

// closeStep completes the open step in a new event; nil if none is open.
func (p *legacyParser) closeStep(now time.Time) *driver.Event {
	if p.cur == nil {
		return nil
	}
	p.cur.Completed = &now
	ev := &driver.Event{Vertexes: []driver.Vertex{*p.cur}}
	p.cur = nil
	return ev
}

// end completes the open step, or marks it failed with docker's last line.
func (p *legacyParser) end(failed bool, now time.Time) *driver.Event {
	if p.cur == nil {
		return nil
	}
	if failed {
		p.cur.Error = "failed"
		if n := len(p.tail.lines); n > 0 {
			p.cur.Error = p.tail.lines[n-1]
		}
		p.failed = p.cur.Name
	}
	return p.closeStep(now)
}

func (p *legacyParser) failedStep() string { return p.failed }
func (p *legacyParser) stepStarted() bool  { return p.started }
