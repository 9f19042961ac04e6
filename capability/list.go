package capability

import (
	"encoding/json"
	"fmt"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/claude-bottle/claude-bottle/state"
)

// Names of the files capability keeps in a bottle's state folder.
const (
	// ListFile is the bottle's capabilities and the base they were
	// rendered on.
	ListFile = "capabilities.json"
	// BaseFile is the bottle's own base Dockerfile (set by `state
	// set-dockerfile`); absent, the repo's Dockerfile is the base.
	BaseFile = "base.Dockerfile"
	// AuditFile is the append-only log of every change.
	AuditFile = "audit.jsonl"
	// PreviousDir holds the state files as they were before the last
	// change, for rollback.
	PreviousDir = "previous"
	// OverrideFile is the rendered override: the file that is built.
	OverrideFile = state.DockerfileName
)

// ListVersion is the format of capabilities.json this package writes.
const ListVersion = 1

// Base sources.
const (
	SourceRepo   = "repo"
	SourceBottle = "bottle"
)

// List is a bottle's capabilities.json.
type List struct {
	Version int `json:"version"`
	// Base records the base the override was rendered from.
	Base BaseRecord `json:"base"`
	// Built records the last override built into the bottle's image; it
	// differs from the override after `capability add --no-build`.
	Built *Built `json:"built,omitempty"`
	// Capabilities are the bottle's capabilities, in order.
	Capabilities []Capability `json:"capabilities"`
}

// BaseRecord is the base an override was rendered from.
type BaseRecord struct {
	// Source is SourceRepo or SourceBottle.
	Source string `json:"source"`
	// Digest is the base's content digest when it was rendered.
	Digest string `json:"digest"`
	// RenderedAt is when it was rendered.
	RenderedAt time.Time `json:"rendered_at"`
	// Path is the base's file then: with no repo named, drift is checked
	// against it.
	Path string `json:"path,omitempty"`
}

// Built is an override that was built into the bottle's image.
type Built struct {
	// Dockerfile is the digest of the override that was built ("" when
	// the bottle had none: the repo's Dockerfile was built).
	Dockerfile string `json:"dockerfile_digest"`
	// ImageID is the image it gave.
	ImageID string `json:"image_id"`
	// At is when.
	At time.Time `json:"at"`
}

// Find returns the capability named name and its index, or -1.
func (l *List) Find(name string) (Capability, int) {
	for i, c := range l.Capabilities {
		if c.Name == name {
			return c, i
		}
	}
	return Capability{}, -1
}

// contentDigest is the digest capability records of a file's content.
func contentDigest(data []byte) string { return digest.FromBytes(data).String() }

// readList reads a bottle's capabilities.json; ok is false when it has
// none (a phase-1 bottle, or no state at all).
func readList(b *state.Bottle) (*List, bool, error) {
	data, ok, err := b.ReadFileAt(ListFile)
	if err != nil || !ok {
		return nil, false, err
	}
	return decodeList(b, data)
}

func decodeList(b *state.Bottle, data []byte) (*List, bool, error) {
	var l List
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, false, fmt.Errorf("bottle %q: %s is damaged (%v); restore it, or run `claude-bottle capability rollback %s`", b.Slug(), b.FilePath(ListFile), err, b.Slug())
	}
	switch {
	case l.Version > ListVersion:
		return nil, false, fmt.Errorf("bottle %q: %s has format %d, newer than this claude-bottle understands (%d): upgrade claude-bottle", b.Slug(), b.FilePath(ListFile), l.Version, ListVersion)
	case l.Version < 1:
		return nil, false, fmt.Errorf("bottle %q: %s has no format version; restore it", b.Slug(), b.FilePath(ListFile))
	case l.Base.Source != SourceRepo && l.Base.Source != SourceBottle:
		return nil, false, fmt.Errorf("bottle %q: %s names base source %q; want %q or %q", b.Slug(), b.FilePath(ListFile), l.Base.Source, SourceRepo, SourceBottle)
	}
	for i := range l.Capabilities {
		if err := l.Capabilities[i].Validate(); err != nil {
			return nil, false, fmt.Errorf("bottle %q: %s: %w", b.Slug(), b.FilePath(ListFile), err)
		}
	}
	return &l, true, nil
}

// encode renders l as capabilities.json.
func (l *List) encode() []byte {
	if l.Capabilities == nil {
		l.Capabilities = []Capability{}
	}
	data, _ := json.MarshalIndent(l, "", "  ")
	return append(data, '\n')
}

// clone returns a deep copy of l (nil for nil).
func (l *List) clone() *List {
	if l == nil {
		return nil
	}
	c := *l
	c.Capabilities = append([]Capability(nil), l.Capabilities...)
	if l.Built != nil {
		b := *l.Built
		c.Built = &b
	}
	return &c
}

// layers counts the capabilities that add to the image.
func (l *List) layers() int {
	n := 0
	for _, c := range l.Capabilities {
		if c.Kind == KindLayer {
			n++
		}
	}
	return n
}
