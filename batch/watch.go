package batch

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
)

// dockerfileStep matches the names BuildKit (and drivers that follow it)
// give the steps of a Dockerfile: "[2/3] RUN make", "[base 1/4] COPY ...".
// The other steps ("[internal] load build context", "exporting to image")
// come and go with what the builder or the engine already holds, so they
// are left out of the counts.
var dockerfileStep = regexp.MustCompile(`^\[(?:[^\]]+ )?\d+/\d+\] `)

// watch is a Sink between a driver and the batch's display: it counts the
// Dockerfile's steps and remembers the first one that failed.
type watch struct {
	next driver.Sink

	mu     sync.Mutex
	done   map[string]bool
	cached map[string]bool
	failed string
}

func newWatch(next driver.Sink) *watch {
	return &watch{next: next, done: map[string]bool{}, cached: map[string]bool{}}
}

// Send notes ev's Dockerfile steps and forwards ev.
func (w *watch) Send(ev *driver.Event) {
	if ev != nil {
		w.mu.Lock()
		for _, v := range ev.Vertexes {
			if !dockerfileStep.MatchString(v.Name) {
				continue
			}
			if v.Completed != nil || v.Cached {
				w.done[v.Digest] = true
			}
			if v.Cached {
				w.cached[v.Digest] = true
			}
			if v.Error != "" && w.failed == "" && !strings.Contains(v.Error, context.Canceled.Error()) {
				w.failed = v.Name
			}
		}
		w.mu.Unlock()
	}
	w.next.Send(ev)
}

// steps returns the Dockerfile steps seen, or fallback (the driver's own
// count) when the driver names no step the Dockerfile way.
func (w *watch) steps(fallback driver.StepCount) driver.StepCount {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.done) == 0 {
		return fallback
	}
	return driver.StepCount{Total: len(w.done), Cached: len(w.cached)}
}

// failedStep is the name of the first Dockerfile step that failed, or "".
func (w *watch) failedStep() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}
