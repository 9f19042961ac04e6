// Package dockerfile is claude-bottle's one Dockerfile parser and its one
// error class. It parses with BuildKit's own parser and instruction parser,
// so a Dockerfile refused here is one BuildKit would refuse too, and every
// driver and command refuses it with the same message: the file's name, the
// line, BuildKit's reason and what to do.
//
// Parse gives a File: its instructions in source order with their lines,
// its stages, and for the final stage the base image and the effective
// USER, which is what a generated override layered on a bottle's image
// needs to know. Validate adds the limits on size and content that a
// Dockerfile written into a bottle's state must meet.
package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"github.com/claude-bottle/claude-bottle/driver"
)

// ErrInvalid classes a Dockerfile that cannot be read or parsed, or breaks
// Validate's limits. It is the same value as driver.ErrInvalidDockerfile:
// that name is the class drivers return and the plugin protocol carries,
// and it lives in package driver so that a plugin need not link a
// Dockerfile parser to name it. errors.Is holds for either name.
var ErrInvalid = driver.ErrInvalidDockerfile

// MaxSize bounds a Dockerfile written into a bottle's state (Validate,
// Read): anything larger is surely a mistake, a binary or a log piped in
// by accident.
const MaxSize = 1 << 20

// Parse parses data with BuildKit's Dockerfile and instruction parsers.
// name is how messages call the file (a quoted path, "standard input").
// An error is ErrInvalid and names name and, when BuildKit gives one, the
// line.
func Parse(name string, data []byte) (*File, error) {
	if f := cached(name, data); f != nil {
		return f, nil
	}
	f, err := parse(name, data)
	if err == nil {
		remember(name, data, f)
	}
	return f, err
}

func parse(name string, data []byte) (*File, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; it needs at least a FROM line", ErrInvalid, name)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, invalid(name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, invalid(name, err)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: %s has no FROM instruction; add a FROM line", ErrInvalid, name)
	}
	return newFile(name, data, res, stages, metaArgs), nil
}

// Validate checks data as a Dockerfile to keep in a bottle's state: not
// empty, at most MaxSize bytes, text (no NUL, valid UTF-8), and parsed
// by Parse.
func Validate(name string, data []byte) error {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("%w: %s is empty; it needs at least a FROM line", ErrInvalid, name)
	case len(data) > MaxSize:
		return fmt.Errorf("%w: %s is %d bytes, more than the %d bytes a Dockerfile may have here; is it the right file?", ErrInvalid, name, len(data), MaxSize)
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		return fmt.Errorf("%w: %s is not text (it holds NUL or invalid UTF-8 bytes); is it the right file?", ErrInvalid, name)
	}
	_, err := Parse(name, data)
	return err
}

// Read reads a Dockerfile from r, at most MaxSize+1 bytes, so that a
// runaway pipe is refused rather than swallowed, and validates it.
func Read(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes; is it the right file?", ErrInvalid, name, MaxSize)
	}
	if err := Validate(name, data); err != nil {
		return nil, err
	}
	return data, nil
}

// ReadFile reads and parses the Dockerfile at path, whatever its size:
// builds call it before a driver is asked for anything, so that a bad
// Dockerfile is refused with its file and line. Messages name the path
// quoted.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %q: %w", ErrInvalid, path, err)
	}
	return Parse(fmt.Sprintf("%q", path), data)
}

// invalid words a BuildKit parse error: the file, the line, the reason.
func invalid(name string, err error) error {
	return fmt.Errorf("%w: %s%s: %v; fix it and try again", ErrInvalid, name, lineOf(err), rootCause(err))
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
