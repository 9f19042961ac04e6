package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"
	digest "github.com/opencontainers/go-digest"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/driver/buildkit"
)

// renderer draws the progress of one or more concurrent builds with
// BuildKit's progressui: the drivers send driver-neutral events, which map
// back onto SolveStatus without loss.
type renderer struct {
	ch     chan *client.SolveStatus
	done   chan struct{}
	mu     sync.Mutex
	closed bool
	err    error
}

// progressModes are the values --progress takes.
var progressModes = []string{"auto", "tty", "plain", "rawjson", "quiet"}

// newRenderer starts a display in mode on out. "auto" picks tty on a
// terminal and plain text elsewhere (a CI log).
func newRenderer(ctx context.Context, out io.Writer, mode string, terminal bool) (*renderer, error) {
	m := progressui.DisplayMode(mode)
	switch mode {
	case "auto", "":
		m = progressui.PlainMode
		if terminal {
			m = progressui.TtyMode
		}
	case "tty", "plain", "rawjson", "quiet":
	default:
		return nil, usageErr(fmt.Errorf("--progress %q: want one of %v", mode, progressModes))
	}
	d, err := progressui.NewDisplay(out, m)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--progress %s: %w", mode, err))
	}
	r := &renderer{ch: make(chan *client.SolveStatus, 64), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_, r.err = d.UpdateFrom(context.WithoutCancel(ctx), r.ch)
	}()
	return r, nil
}

// sink returns a Sink for one build; with a label, its step names are
// prefixed so concurrent builds can be told apart.
func (r *renderer) sink(label string) driver.Sink {
	return driver.SinkFunc(func(ev *driver.Event) {
		st := buildkit.FromEvent(ev)
		if label != "" {
			relabel(st, label)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.closed {
			r.ch <- st
		}
	})
}

// relabel prefixes a build's step names with its label and its vertex
// digests too: two bottles' builds share vertexes (the same base steps), and
// the display keys steps by digest, so without it their lines would merge.
func relabel(st *client.SolveStatus, label string) {
	key := func(d digest.Digest) digest.Digest {
		if d == "" {
			return d
		}
		return digest.Digest(label + "/" + string(d))
	}
	for _, v := range st.Vertexes {
		v.Name = "[" + label + "] " + v.Name
		v.Digest = key(v.Digest)
		for i := range v.Inputs {
			v.Inputs[i] = key(v.Inputs[i])
		}
	}
	for _, s := range st.Statuses {
		s.Vertex = key(s.Vertex)
	}
	for _, l := range st.Logs {
		l.Vertex = key(l.Vertex)
	}
	for _, w := range st.Warnings {
		w.Vertex = key(w.Vertex)
	}
}

// wait ends the display once every build has returned.
func (r *renderer) wait() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.ch)
	}
	r.mu.Unlock()
	<-r.done
	return r.err
}
