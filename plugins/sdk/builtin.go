package sdk

import (
	"os"
	"runtime/debug"

	"github.com/claude-bottle/claude-bottle/driver"
)

// ServeBuiltin serves the built-in driver registered as name (package
// driver's registry) and returns when the host stops it. The claude-bottle
// binary calls it from its hidden "__driver-serve NAME" command, so that
// the host starts built-ins exactly as it starts third-party plugins.
// Plugin authors call Serve instead.
func ServeBuiltin(name string) error {
	f, err := driver.Lookup(name)
	if err != nil {
		return err
	}
	prio := f.Priority
	if os.Getenv("GOMEMLIMIT") == "" {
		// A load streams the whole image through this process; a soft
		// limit makes the GC reclaim the transfer's buffers before the heap
		// doubles, keeping the peak near the working set (bench/README.md).
		debug.SetMemoryLimit(builtinMemoryLimit)
	}
	return serve(Plugin{Name: f.Name, Version: binaryVersion(), Usage: f.Usage, Priority: &prio, New: f.New}, nil, nil)
}

// builtinMemoryLimit is the soft memory limit of a built-in driver's
// process; $GOMEMLIMIT overrides it.
const builtinMemoryLimit = 96 << 20

// binaryVersion is the running binary's module version ("(devel)" for a
// build from a work tree).
func binaryVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
