package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// hcLogger adapts go-plugin's hclog logging to the host's slog logger.
// go-plugin logs two kinds of lines through it: its own (starting, exiting),
// which go to Debug, and the plugin's stderr, which it hands to a logger
// Named after the plugin binary; those keep the level the plugin gave them
// and are also handed to keep (the host keeps the last ones for crash
// reports).
type hcLogger struct {
	log     *slog.Logger
	keep    func(line string)
	binName string // the Named() child with this name carries plugin lines
	plugin  bool
	// panicking is set, on the plugin's logger, once its stderr shows a
	// panic: go-plugin logs the trace's lines at Error, but they are the
	// crash report's (keep), not the log's.
	panicking *atomic.Bool
	name      string
	args      []any
}

// NewHCLogger returns the hclog.Logger to give go-plugin's client:
// go-plugin's own lines go to log at Debug, the plugin's (the child logger
// go-plugin names binName) at their own level, and to keep if it is set.
func NewHCLogger(log *slog.Logger, keep func(line string), binName string) hclog.Logger {
	return &hcLogger{log: log, keep: keep, binName: binName}
}

var _ hclog.Logger = (*hcLogger)(nil)

// Log forwards one entry.
func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	args = dropKey(args, "timestamp")
	lvl := slog.LevelDebug
	if h.plugin {
		lvl = slogLevel(level)
		if h.keep != nil {
			h.keep(tailLine(level, msg, args))
		}
		if h.panicTrace(level, msg, args) {
			lvl = slog.LevelDebug
		}
	}
	ctx := context.Background()
	if !h.log.Enabled(ctx, lvl) {
		return
	}
	h.log.Log(ctx, lvl, msg, append(append([]any(nil), h.args...), args...)...)
}

// panicTrace reports whether an entry is a line of a panic's trace:
// go-plugin passes the plugin's raw stderr lines with no fields, at Error
// from a "panic: " line on.
func (h *hcLogger) panicTrace(level hclog.Level, msg string, args []any) bool {
	if h.panicking == nil || level != hclog.Error || len(args) > 0 {
		return false
	}
	if PanicStart(msg) {
		h.panicking.Store(true)
	}
	return h.panicking.Load()
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Info, hclog.NoLevel:
		return slog.LevelInfo
	case hclog.Warn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// tailLine renders an entry for a crash report: "[LEVEL] msg k=v", or the
// bare line for stderr output that was not a log entry, which go-plugin
// passes on at Debug (or at Error once a panic has begun) with no fields.
func tailLine(level hclog.Level, msg string, args []any) string {
	if len(args) == 0 && (level == hclog.Debug || level == hclog.Error) {
		return msg
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s", strings.ToUpper(level.String()), msg)
	for i := 0; i+1 < len(args); i += 2 {
		fmt.Fprintf(&b, " %v=%v", args[i], args[i+1])
	}
	return b.String()
}

func dropKey(args []any, key string) []any {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == key {
			return append(append([]any(nil), args[:i]...), args[i+2:]...)
		}
	}
	return args
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

// The level checks all say yes: go-plugin skips parsing plugin lines below
// the logger's level, and the tail wants every line. slog filters later.
func (h *hcLogger) IsTrace() bool { return true }
func (h *hcLogger) IsDebug() bool { return true }
func (h *hcLogger) IsInfo() bool  { return true }
func (h *hcLogger) IsWarn() bool  { return true }
func (h *hcLogger) IsError() bool { return true }

func (h *hcLogger) ImpliedArgs() []any { return h.args }

func (h *hcLogger) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any(nil), h.args...), args...)
	return &c
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	c := *h
	c.name = name
	c.plugin = h.plugin || name == h.binName
	if c.plugin && c.panicking == nil {
		c.panicking = new(atomic.Bool)
	}
	return &c
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger { return h.Named(name) }

func (h *hcLogger) SetLevel(hclog.Level) {}

func (h *hcLogger) GetLevel() hclog.Level { return hclog.Trace }

func (h *hcLogger) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(nil), "", 0)
}

func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return NewLineWriter(func(line string) { h.Debug(line) })
}

// LineWriter calls a function for every complete line written to it; it is
// what the plugin's os.Stdout and os.Stderr (after the handshake) are
// copied to.
type LineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

// NewLineWriter returns a LineWriter calling fn.
func NewLineWriter(fn func(line string)) *LineWriter { return &LineWriter{fn: fn} }

// Write calls fn for each line completed by p; a line longer than 64 KiB
// is passed on in pieces.
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64*1024 {
		w.fn(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}
