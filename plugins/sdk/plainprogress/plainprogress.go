// Package plainprogress turns BuildKit's --progress=plain output (docker
// build with BuildKit, docker buildx build, buildctl) into claude-bottle's
// progress events, for drivers that wrap one of those CLIs:
//
//	#5 [2/3] RUN make          a step starts (its name)
//	#5 sha256:...              its digest (older printers)
//	#5 0.320 some output       a line of its output, seconds since it started
//	#5 transferring context: 1.98MB 0.1s done
//	                           the status of a sub-task of the step
//	#5 DONE 0.3s | #5 CACHED | #5 ERROR: msg | #5 CANCELED
//
// Each "#N" becomes one driver.Vertex with digest "#N". Feed the lines of
// the CLI's stderr (where BuildKit prints them) to Parser.Line, with
// package plugins/sdk/clirun's Run, and send the events to the build's
// sink.
package plainprogress

import (
	"regexp"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Parser parses one build's output. It is not safe for concurrent use:
// feed it one line at a time (clirun.Run does).
type Parser struct {
	// Keep, if set, receives the lines worth showing when the build
	// fails: the lines that are not progress (the CLI's own messages),
	// each step's output, and each step's error as "ERROR step: message".
	Keep func(line string)

	vertexes map[string]*driver.Vertex // by "#N", as last sent
	failed   string
	started  bool
}

var (
	lineRE    = regexp.MustCompile(`^#(\d+) (.*)$`)
	logRE     = regexp.MustCompile(`^\d+\.\d+ (.*)$`)
	digestRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	elapsedRE = regexp.MustCompile(` \d+(\.\d+)?s$`)
)

// Line parses one line of output read at now and returns the event it
// makes, or nil.
func (p *Parser) Line(line string, now time.Time) *driver.Event {
	m := lineRE.FindStringSubmatch(line)
	if m == nil {
		p.keep(line)
		return nil
	}
	if p.vertexes == nil {
		p.vertexes = map[string]*driver.Vertex{}
	}
	id, rest := "#"+m[1], m[2]
	v, known := p.vertexes[id]
	if !known {
		v = &driver.Vertex{Digest: id, Name: rest, Started: &now}
		p.vertexes[id] = v
		if !strings.HasPrefix(rest, "[internal]") {
			p.started = true
		}
		return &driver.Event{Vertexes: []driver.Vertex{*v}}
	}
	switch {
	case rest == v.Name || digestRE.MatchString(rest):
		// The printer repeats a step's name when it switches between
		// steps, and older ones print its digest: nothing new.
		return nil
	case strings.HasPrefix(rest, "DONE"):
		v.Completed = &now
	case rest == "CACHED":
		v.Cached, v.Completed = true, &now
	case strings.HasPrefix(rest, "ERROR"):
		v.Error = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(rest, "ERROR"), ":"))
		v.Completed = &now
		if p.failed == "" {
			p.failed = v.Name
		}
		p.keep("ERROR " + v.Name + ": " + v.Error)
	case rest == "CANCELED":
		v.Error, v.Completed = "canceled", &now
	case logRE.MatchString(rest):
		text := logRE.FindStringSubmatch(rest)[1]
		p.keep(text)
		return &driver.Event{Logs: []driver.Log{{Vertex: id, Stream: 1, Data: []byte(text + "\n"), Timestamp: now}}}
	default:
		return &driver.Event{Statuses: []driver.Status{status(id, rest, now)}}
	}
	return &driver.Event{Vertexes: []driver.Vertex{*v}}
}

// status makes a Status of a line such as "exporting layers 1.0s done":
// its ID is the text without the elapsed time and "done", so that the
// updates of one sub-task share it.
func status(vertex, rest string, now time.Time) driver.Status {
	id := strings.TrimSuffix(rest, " done")
	done := id != rest
	id = elapsedRE.ReplaceAllString(id, "")
	st := driver.Status{ID: id, Vertex: vertex, Name: rest, Timestamp: now}
	if done {
		st.Completed = &now
	}
	return st
}

// FailedStep names the first step that failed, or "" if none did.
func (p *Parser) FailedStep() string { return p.failed }

// StepStarted reports whether a step of the build itself started, not
// only the loading of the Dockerfile and context ("[internal] ...").
func (p *Parser) StepStarted() bool { return p.started }

func (p *Parser) keep(line string) {
	if p.Keep != nil {
		p.Keep(line)
	}
}
