package plugins

import (
	"errors"
	"fmt"
	"regexp"
)

// BinaryPrefix starts the file name of every third-party driver plugin:
// claude-bottle-driver-NAME.
const BinaryPrefix = "claude-bottle-driver-"

// ErrInvalidName: a driver name that cannot name a plugin.
var ErrInvalidName = errors.New("invalid driver name")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validName checks a driver name before it becomes part of a file name.
func validName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// BinaryName returns the file name of the plugin for driver name.
func BinaryName(name string) string { return BinaryPrefix + name }
