package state

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// ErrInvalidDockerfile classes a Dockerfile that does not parse.
var ErrInvalidDockerfile = errors.New("invalid Dockerfile")

// MaxDockerfileSize bounds an override: anything larger is surely a
// mistake (a binary or a log piped in by accident).
const MaxDockerfileSize = 1 << 20

// ValidateDockerfile parses data with BuildKit's own Dockerfile parser and
// instruction parser, so an override that BuildKit would refuse is refused
// before it is written. name is used in messages.
func ValidateDockerfile(name string, data []byte) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("%w: %s is empty; it needs at least a FROM line", ErrInvalidDockerfile, name)
	case len(data) > MaxDockerfileSize:
		return fmt.Errorf("%w: %s is %d bytes, more than the %d bytes a Dockerfile may have here; is it the right file?", ErrInvalidDockerfile, name, len(data), MaxDockerfileSize)
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		return fmt.Errorf("%w: %s is not text (it holds NUL or invalid UTF-8 bytes); is it the right file?", ErrInvalidDockerfile, name)
	}
	return ParseDockerfile(name, data)
}

// ParseDockerfile parses data with BuildKit's Dockerfile and instruction
// parsers, without ValidateDockerfile's limits on size and content, and
// returns an error naming name and the offending line. Builds call it
// before sending anything to a driver, so every driver refuses the same
// Dockerfiles with the same message.
func ParseDockerfile(name string, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("%w: %s is empty; it needs at least a FROM line", ErrInvalidDockerfile, name)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %s%s: %v; fix it and try again", ErrInvalidDockerfile, name, lineOf(err), rootCause(err))
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return fmt.Errorf("%w: %s%s: %v; fix it and try again", ErrInvalidDockerfile, name, lineOf(err), rootCause(err))
	}
	if len(stages) == 0 {
		return fmt.Errorf("%w: %s has no FROM instruction; add a FROM line", ErrInvalidDockerfile, name)
	}
	return nil
}

// lineOf renders the first source line BuildKit attached to err.
func lineOf(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Sprintf(" line %d", le.Locations[0][0].Start.Line)
	}
	return ""
}

// rootCause drops BuildKit's wrapping layers, whose messages repeat the
// location we already print.
func rootCause(err error) error {
	for {
		var le *parser.LocationError
		if errors.As(err, &le) {
			if inner := le.Unwrap(); inner != nil && inner != err {
				err = inner
				continue
			}
		}
		return err
	}
}
