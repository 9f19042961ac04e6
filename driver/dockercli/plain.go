package dockercli

import (
	"regexp"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// plainParser reads BuildKit's --progress=plain output, as the classic
// docker build prints it with DOCKER_BUILDKIT=1 (and older buildx):
//
//	#5 [2/3] RUN make          a vertex starts (its name)
//	#5 sha256:...              its digest (older printers)
//	#5 0.320 some output       a log line, with seconds since the start
//	#5 transferring context: 1.98MB 0.1s done
//	                           a status of the vertex
//	#5 DONE 0.3s | #5 CACHED | #5 ERROR: msg | #5 CANCELED
//
// Each "#N" becomes one driver.Vertex with digest "#N"; lines not starting
// with "#N" are kept only for error messages.
type plainParser struct {
	tail     *tail
	vertexes map[string]*driver.Vertex // by "#N", as last sent
	failed   string
	started  bool
}

func newPlainParser(t *tail) *plainParser {
	return &plainParser{tail: t, vertexes: map[string]*driver.Vertex{}}
}

var (
	plainLine    = regexp.MustCompile(`^#(\d+) (.*)$`)
	plainLog     = regexp.MustCompile(`^\d+\.\d+ (.*)$`)
	plainDigest  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	plainElapsed = regexp.MustCompile(` \d+(\.\d+)?s$`)
)

func (p *plainParser) line(_ int, s string, now time.Time) *driver.Event {
	m := plainLine.FindStringSubmatch(s)
	if m == nil {
		p.tail.add(s)
		return nil
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
	case rest == v.Name || plainDigest.MatchString(rest):
		// The printer repeats a vertex's name when it switches between
		// vertexes, and older ones print its digest: nothing new.
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
		p.tail.add("ERROR " + v.Name + ": " + v.Error)
	case rest == "CANCELED":
		v.Error, v.Completed = "canceled", &now
	case plainLog.MatchString(rest):
		text := plainLog.FindStringSubmatch(rest)[1]
		p.tail.add(text)
		return &driver.Event{Logs: []driver.Log{{Vertex: id, Stream: 1, Data: []byte(text + "\n"), Timestamp: now}}}
	default:
		return &driver.Event{Statuses: []driver.Status{plainStatus(id, rest, now)}}
	}
	return &driver.Event{Vertexes: []driver.Vertex{*v}}
}

// plainStatus makes a Status of a line such as "exporting layers 1.0s
// done": its ID is the text without the elapsed time and "done", so that
// the updates of one sub-task share it.
func plainStatus(vertex, rest string, now time.Time) driver.Status {
	id := strings.TrimSuffix(rest, " done")
	done := id != rest
	id = plainElapsed.ReplaceAllString(id, "")
	st := driver.Status{ID: id, Vertex: vertex, Name: rest, Timestamp: now}
	if done {
		st.Completed = &now
	}
	return st
}

func (p *plainParser) end(bool, time.Time) *driver.Event { return nil }
func (p *plainParser) failedStep() string                { return p.failed }
func (p *plainParser) stepStarted() bool                 { return p.started }
