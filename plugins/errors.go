package plugins

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Errors of the plugin machinery itself, beside the driver classes.
var (
	// ErrBadPlugin: a plugin candidate cannot be used: not an executable
	// file, in an unsafe folder, not a claude-bottle driver plugin, or
	// speaking a protocol version this claude-bottle does not.
	ErrBadPlugin = errors.New("unusable driver plugin")
	// ErrChecksum: an installed plugin's binary no longer matches the
	// checksum recorded when it was installed. It is not run.
	ErrChecksum = errors.New("driver plugin checksum mismatch")
)

// CrashError reports a driver process that died during a call. It wraps
// driver.ErrDriverCrashed.
type CrashError struct {
	// Driver is the driver's name.
	Driver string
	// Exit says how the process ended ("signal: killed", "exit status 2").
	Exit string
	// LastLines are the last lines the plugin logged before it died.
	LastLines []string
}

// Error says which driver crashed, how, and its last log lines.
func (e *CrashError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver %q crashed", e.Driver)
	if e.Exit != "" {
		fmt.Fprintf(&b, " (%s)", e.Exit)
	}
	b.WriteString("; run the command again to restart it, and report the crash to the driver's author if it repeats")
	if len(e.LastLines) == 0 {
		b.WriteString(" (it logged nothing)")
		return b.String()
	}
	b.WriteString("; its last log lines:")
	for _, l := range e.LastLines {
		b.WriteString("\n  ")
		b.WriteString(l)
	}
	return b.String()
}

// Unwrap classes the crash as driver.ErrDriverCrashed.
func (e *CrashError) Unwrap() error { return driver.ErrDriverCrashed }
