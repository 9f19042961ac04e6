package wire

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// ErrPanicked classes the error of a call during which the driver
// panicked and the plugin's server recovered: the host reports it as the
// driver's crash and replaces the process, which it no longer trusts.
var ErrPanicked = errors.New("driver panicked")

// panicError is a recovered panic: its message is the panic and its trace,
// as the Go runtime prints them.
type panicError struct{ msg string }

func (e *panicError) Error() string { return e.msg }

// Unwrap classes it as a crash of the driver.
func (e *panicError) Unwrap() []error { return []error{driver.ErrDriverCrashed, ErrPanicked} }

// Panicked is the error of a call whose handler recovered the panic v;
// stack is runtime/debug.Stack() taken in the deferred function that
// recovered it. The message is "panic: V" and the panicking goroutine's
// trace from the frame that panicked, without the recovery's own frames.
func Panicked(v any, stack []byte) error {
	lines := strings.Split(strings.TrimRight(string(stack), "\n"), "\n")
	trace := lines
	for i, l := range lines {
		// The frames above panic() are debug.Stack and the deferred
		// function; the frame that panicked follows its file line.
		if strings.HasPrefix(l, "panic(") && i+2 <= len(lines) {
			trace = append([]string{lines[0]}, lines[i+2:]...)
			break
		}
	}
	return &panicError{msg: fmt.Sprintf("panic: %v\n\n%s", v, strings.Join(trace, "\n"))}
}

// PanicStart reports whether line starts a Go panic or fatal error as the
// runtime prints it on stderr (or as go-plugin logs it, with "[ERROR] ").
func PanicStart(line string) bool {
	for _, p := range []string{"panic: ", "fatal error: ", "[ERROR] panic: "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}
