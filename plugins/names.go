package plugins

import "github.com/claude-bottle/claude-bottle/plugins/internal/wire"

// BinaryPrefix starts the file name of every third-party driver plugin:
// claude-bottle-driver-NAME.
const BinaryPrefix = "claude-bottle-driver-"

// ErrInvalidName: a driver name that cannot name a plugin.
var ErrInvalidName = wire.ErrInvalidName

// validName checks a driver name before it becomes part of a file name.
func validName(name string) error { return wire.ValidName(name) }

// BinaryName returns the file name of the plugin for driver name.
func BinaryName(name string) string { return BinaryPrefix + name }
