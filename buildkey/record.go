package buildkey

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/claude-bottle/claude-bottle/state"
)

// Where a bottle keeps its record: state's build/uptodate.json.
const (
	recordDir  = "build"
	recordFile = "uptodate.json"
	recordMax  = 4096
)

// Record is what a successful build leaves in the bottle's state: the key
// of its inputs, the image ID it made and the tag it gave it.
type Record struct {
	Key string `json:"key"`
	// Static is the key of the inputs but the context (Inputs.StaticSum):
	// only when it matches is the context walked before a build.
	Static  string `json:"static"`
	ImageID string `json:"image_id"`
	Tag     string `json:"tag"`
}

// Matches reports whether r says the image under tag, built from inputs
// whose key is key, is the one the engine (images) still has there.
func (r Record) Matches(key, tag string, images Images) bool {
	return r.Key != "" && r.Key == key && r.Tag == tag && r.ImageID != "" && images.ID(tag) == r.ImageID
}

// ReadRecord reads bottle b's record; a bottle without one (or with one
// that does not parse, which a later build replaces) has the zero Record.
func ReadRecord(b *state.Bottle) (Record, error) {
	data, err := b.ReadFile(recordDir, recordFile, recordMax)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, nil
	}
	if err != nil {
		return Record{}, err
	}
	var r Record
	if json.Unmarshal(data, &r) != nil {
		return Record{}, nil
	}
	return r, nil
}

// WriteRecord writes bottle b's record, atomically. Call it only after a
// build succeeded and its image is under r.Tag.
func WriteRecord(b *state.Bottle, r Record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := b.WriteFile(recordDir, recordFile, append(data, '\n')); err != nil {
		return fmt.Errorf("bottle %s: recording the build for up-to-date checks: %w", b.Slug(), err)
	}
	return nil
}
