package bottle

import (
	"fmt"
	"io"

	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/state"
)

// SetOverride gives bottle b its own Dockerfile: data is checked with
// dockerfile.Validate and, only if it passes, written as b's override
// (atomically, by package state). From then on b is rebuilt: it builds as
// RebuiltImage. A refused Dockerfile writes nothing and leaves any
// previous override as it was.
func SetOverride(b *state.Bottle, data []byte) error {
	if err := dockerfile.Validate(fmt.Sprintf("the new Dockerfile for bottle %q", b.Slug()), data); err != nil {
		return err
	}
	return b.SetOverride(data)
}

// SetOverrideFrom is SetOverride with the Dockerfile read from r (a file,
// standard input), named name in messages. At most dockerfile.MaxSize+1
// bytes are read, so that a runaway pipe is refused rather than swallowed.
func SetOverrideFrom(b *state.Bottle, r io.Reader, name string) error {
	data, err := dockerfile.Read(r, name)
	if err != nil {
		return err
	}
	return b.SetOverride(data)
}
