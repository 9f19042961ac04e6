package wire

import (
	"context"
	"log/slog"
	"sync"
)

// LogGate passes log records on until it is shut, and none after: once
// ShutDown returns, no record is being written and none will be. The
// in-process server and sdktest give the driver and go-plugin's goroutines
// their logger through one, as go-plugin's goroutines may still log after
// its client's Kill returns, and a test's logger (t.Log) panics when
// called after its test.
type LogGate struct {
	mu   sync.RWMutex
	shut bool
}

// ShutDown stops every logger made by Wrap, waiting for the records being
// written.
func (g *LogGate) ShutDown() {
	g.mu.Lock()
	g.shut = true
	g.mu.Unlock()
}

// Wrap returns log behind the gate.
func (g *LogGate) Wrap(log *slog.Logger) *slog.Logger {
	return slog.New(&gatedHandler{gate: g, next: log.Handler()})
}

type gatedHandler struct {
	gate *LogGate
	next slog.Handler
}

func (h *gatedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *gatedHandler) Handle(ctx context.Context, r slog.Record) error {
	h.gate.mu.RLock()
	defer h.gate.mu.RUnlock()
	if h.gate.shut {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *gatedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &gatedHandler{gate: h.gate, next: h.next.WithAttrs(as)}
}

func (h *gatedHandler) WithGroup(name string) slog.Handler {
	return &gatedHandler{gate: h.gate, next: h.next.WithGroup(name)}
}
