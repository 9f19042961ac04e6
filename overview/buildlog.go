package overview

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// BuildLogFile is the file in a bottle's state folder that keeps the log
// of the last build the dashboard ran of it.
const BuildLogFile = "last-build.json"

// MaxBuildLog bounds the log a BuildLog keeps: its end, where a failure
// shows.
const MaxBuildLog = 256 << 10

// BuildLog is the last build of a bottle: what ran it, when, how it ended
// and its progress as plain text (the lines `--progress plain` prints).
type BuildLog struct {
	// Action is what built: "rebuild", "rebase", "approve rq-...".
	Action  string    `json:"action"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// OK is true when it succeeded; Error says why it did not.
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Image is the image it gave, when it succeeded.
	Image string `json:"image,omitempty"`
	// Log is the progress text, its end kept when it was longer than
	// MaxBuildLog.
	Log string `json:"log"`
}

// SaveBuildLog keeps l as the bottle's last build, atomically.
func SaveBuildLog(store *state.Store, slug string, l BuildLog) error {
	if len(l.Log) > MaxBuildLog {
		l.Log = "...\n" + l.Log[len(l.Log)-MaxBuildLog:]
	}
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	b, err := store.Bottle(slug)
	if err != nil {
		return err
	}
	if err := b.WriteFileAt(BuildLogFile, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("bottle %q: keeping the build's log: %w", slug, err)
	}
	return nil
}

// LastBuild returns the bottle's last build, nil when the dashboard never
// built it.
func LastBuild(store *state.Store, slug string) (*BuildLog, error) {
	b, err := store.Bottle(slug)
	if err != nil {
		return nil, err
	}
	data, ok, err := b.ReadFileAt(BuildLogFile)
	if err != nil || !ok {
		return nil, err
	}
	var l BuildLog
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("bottle %q: %s is damaged (%v); remove it", slug, b.FilePath(BuildLogFile), err)
	}
	return &l, nil
}
