package capability

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// stateFiles are the files a change replaces together, in the order they
// are written: the list last, as it records what the others are.
var stateFiles = []string{BaseFile, OverrideFile, ListFile}

// manifestFile in previous/ says what previous/ holds.
const manifestFile = "manifest.json"

// manifest describes a saved earlier state.
type manifest struct {
	// Absent lists the state files the bottle did not have then.
	Absent []string `json:"absent"`
	// ImageID is the image the bottle ran on then ("" if none).
	ImageID string `json:"image_id"`
	// SavedAt is when that state was replaced.
	SavedAt time.Time `json:"saved_at"`
}

// files returns s's state files by name, nil for an absent one.
func (s *snapshot) files() map[string][]byte {
	var list []byte
	if s.list != nil {
		list = s.list.encode()
	}
	return map[string][]byte{BaseFile: s.baseFile, OverrideFile: s.override, ListFile: list}
}

// commit makes next the bottle's state: cur is saved whole in previous/
// (with the image it ran on), then next's files are written (or removed)
// one by one, each atomically, the list last.
func commit(b *state.Bottle, cur, next *snapshot, curImage string, now time.Time) error {
	if err := savePrevious(b, cur.files(), curImage, now); err != nil {
		return err
	}
	if err := writeFiles(b, next.files()); err != nil {
		writeFiles(b, cur.files()) // best effort: back to the state that goes with the old tags
		return err
	}
	return nil
}

func savePrevious(b *state.Bottle, files map[string][]byte, image string, now time.Time) error {
	m := manifest{Absent: []string{}, ImageID: image, SavedAt: now}
	saved := map[string][]byte{}
	for _, name := range stateFiles {
		if files[name] == nil {
			m.Absent = append(m.Absent, name)
		} else {
			saved[name] = files[name]
		}
	}
	data, _ := json.MarshalIndent(m, "", "  ")
	saved[manifestFile] = append(data, '\n')
	if err := b.ReplaceDir(PreviousDir, saved); err != nil {
		return fmt.Errorf("bottle %q: saving the state being replaced: %w", b.Slug(), err)
	}
	return nil
}

func writeFiles(b *state.Bottle, files map[string][]byte) error {
	for _, name := range stateFiles {
		var err error
		if data := files[name]; data != nil {
			err = b.WriteFileAt(name, data, 0o644)
		} else {
			err = b.RemoveFileAt(name)
		}
		if err != nil {
			return fmt.Errorf("bottle %q: writing its new state: %w", b.Slug(), err)
		}
	}
	return nil
}

// readPrevious reads previous/: the saved files (nil when absent then)
// and its manifest.
func readPrevious(b *state.Bottle) (map[string][]byte, *manifest, error) {
	saved, ok, err := b.ReadDirFiles(PreviousDir)
	if err != nil {
		return nil, nil, err
	}
	if !ok || saved[manifestFile] == nil {
		return nil, nil, fmt.Errorf("%w: bottle %q has no earlier state saved (no change was applied yet)", ErrNothingToRollBack, b.Slug())
	}
	var m manifest
	if err := json.Unmarshal(saved[manifestFile], &m); err != nil {
		return nil, nil, fmt.Errorf("bottle %q: %s is damaged: %v", b.Slug(), b.FilePath(PreviousDir+"/"+manifestFile), err)
	}
	files := map[string][]byte{}
	for _, name := range stateFiles {
		files[name] = saved[name]
	}
	return files, &m, nil
}
