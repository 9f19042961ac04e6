package bottle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/claude-bottle/claude-bottle/state"
)

// This file is the one place where claude-bottle names things in the
// Docker engine: every image tag, container name and label a bottle uses.
// Other packages call these; none spells a name itself. The names an image
// is pushed as are not made here but from the user's template, beside this
// file in pushname.go.

// BaseImage is the tag the repo's own Dockerfile is built as, shared by
// every bottle that has no override of its own.
const BaseImage = "claude-bottle:latest"

// Labels claude-bottle puts on what it makes in the engine.
const (
	// SlugLabel is on every bottle's container: the bottle's slug.
	SlugLabel = "dev.claude-bottle.slug"
	// CwdLabel is on every derived image: the host folder it was made for.
	CwdLabel = "dev.claude-bottle.cwd"
)

// Tag returns the tag a bottle's image is built as. This is the rule, in
// one place: a bottle with its own Dockerfile override (rebuilt) gets its
// own RebuiltImage; every other bottle shares BaseImage.
func Tag(slug string, rebuilt bool) string {
	if rebuilt {
		return RebuiltImage(slug)
	}
	return BaseImage
}

// TagOf returns the tag bottle b's image is built as, and whether b is
// rebuilt (has an override), reading b's state.
func TagOf(b *state.Bottle) (tag string, rebuilt bool, err error) {
	_, rebuilt, err = b.OverridePath()
	if err != nil {
		return "", false, err
	}
	return Tag(b.Slug(), rebuilt), rebuilt, nil
}

// RebuiltImage returns the tag of a bottle built from its own override:
// claude-bottle-rebuilt-<slug>:latest.
func RebuiltImage(slug string) string {
	return "claude-bottle-rebuilt-" + slug + ":latest"
}

// PreviousImage returns the tag that keeps a rebuilt bottle's image from
// before its latest rebuild, claude-bottle-rebuilt-<slug>:previous, so
// that a rebuild that turns out bad can be rolled back to it. Package
// capability moves it in every swap and rollback.
func PreviousImage(slug string) string {
	return "claude-bottle-rebuilt-" + slug + ":previous"
}

// PendingImage returns the temporary tag a capability change builds to
// before the swap, claude-bottle-rebuilt-<slug>:pending-<nonce>, so that a
// failed build never touches the bottle's own tags.
func PendingImage(slug, nonce string) string {
	return "claude-bottle-rebuilt-" + slug + ":pending-" + nonce
}

// DerivedImage returns the tag of the image layered on a bottle's image
// for the host folder cwd (an absolute, clean path):
// claude-bottle-cwd-<slug>:<first 12 hex digits of the path's SHA-256>.
// One folder always gets the same tag, two folders never share one.
func DerivedImage(slug, cwd string) string {
	sum := sha256.Sum256([]byte(cwd))
	return fmt.Sprintf("claude-bottle-cwd-%s:%s", slug, hex.EncodeToString(sum[:])[:12])
}

// ContainerName returns the name of a bottle's container,
// claude-bottle-<slug>: one container a bottle, so a second launch finds
// the first.
func ContainerName(slug string) string { return "claude-bottle-" + slug }
