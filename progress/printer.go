// Package progress carries build progress from the drivers to whoever
// shows it, as buildx's util/progress does. Every driver sends
// driver-neutral events (driver.Event) into a driver.Sink; this package
// gives the sinks that consume them:
//
//   - Printer renders them with BuildKit's progressui (tty, plain,
//     rawjson, quiet), for the CLI;
//   - Label (and Printer.Label) tell concurrent builds apart on one
//     display;
//   - Tee fans one build's events out to several consumers, so that a
//     dashboard streaming them (over SSE, say) can watch the same build
//     as the terminal.
//
// FromSolveStatus and ToSolveStatus convert between BuildKit's progress
// type and driver.Event without loss, in both directions.
package progress

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Modes are the display modes ParseMode takes, as buildx's --progress.
var Modes = []string{"auto", "tty", "plain", "rawjson", "quiet"}

// EnvMode is the environment variable that picks the mode when the flag
// leaves it at auto, as it does for buildx and buildctl.
const EnvMode = "BUILDKIT_PROGRESS"

// ParseMode returns the progressui display mode named mode. As in buildx,
// "auto" (and "") gives way to env, the value of $BUILDKIT_PROGRESS, when
// that is set; what is left at auto picks tty when terminal is true (the
// display's stream is a terminal) and plain text elsewhere (a CI log).
func ParseMode(mode, env string, terminal bool) (progressui.DisplayMode, error) {
	from := "progress mode"
	if (mode == "auto" || mode == "") && env != "" {
		mode, from = env, "$"+EnvMode
	}
	switch mode {
	case "auto", "":
		if terminal {
			return progressui.TtyMode, nil
		}
		return progressui.PlainMode, nil
	case "tty", "plain", "rawjson", "quiet":
		return progressui.DisplayMode(mode), nil
	}
	return "", fmt.Errorf("unknown %s %q: want one of %s", from, mode, strings.Join(Modes, ", "))
}

// Printer is a Sink that renders the events of one or more concurrent
// builds with BuildKit's progressui. It is safe for concurrent use; give
// each build its own sink from Label when several share it.
type Printer struct {
	mode progressui.DisplayMode
	ch   chan *client.SolveStatus
	done chan struct{}
	err  error

	mu     sync.Mutex
	closed bool
}

// NewPrinter starts a display in mode on out. It runs until Wait, even if
// ctx is canceled first: the display must show how a canceled build ended.
func NewPrinter(ctx context.Context, out io.Writer, mode progressui.DisplayMode) (*Printer, error) {
	d, err := progressui.NewDisplay(out, mode)
	if err != nil {
		return nil, fmt.Errorf("progress mode %s: %w", mode, err)
	}
	p := &Printer{mode: mode, ch: make(chan *client.SolveStatus, 64), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_, p.err = d.UpdateFrom(context.WithoutCancel(ctx), p.ch)
	}()
	return p, nil
}

// Send renders ev. Events sent after Wait are dropped.
func (p *Printer) Send(ev *driver.Event) {
	st := ToSolveStatus(ev)
	if st == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.ch <- st
	}
}

// Wait ends the display once every build sending to it has returned, and
// returns the display's error.
func (p *Printer) Wait() error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.ch)
	}
	p.mu.Unlock()
	<-p.done
	return p.err
}

// Mode returns the display mode the printer renders in.
func (p *Printer) Mode() progressui.DisplayMode { return p.mode }

// Label returns the sink for one of several concurrent builds: its step
// names get the label as buildx prefixes a bake target's ("[label 1/2]
// RUN ..."). In the modes a person reads (tty, plain) the steps' digests
// are keyed by the label too, because the display keys steps by digest and
// two bottles' builds share steps (the same base): without it their lines
// and logs would merge. rawjson keeps the real digests, since a program
// reads it and a digest must stay a digest; it tells the builds apart by
// the names. An empty label gives p itself.
func (p *Printer) Label(label string) driver.Sink {
	if label == "" {
		return p
	}
	if p.mode == progressui.RawJSONMode {
		return Label(label, p)
	}
	return driver.SinkFunc(func(ev *driver.Event) { p.Send(keyed(Relabel(ev, label), label)) })
}
