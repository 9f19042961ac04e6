package config

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// Transcript holds the bounds of a transcript snapshot, the copy of the
// agent's state folder taken when a bottle stops. The agent decides what
// is in that folder, so every copy is bounded; zero or empty keys keep
// claude-bottle's defaults (2 GiB, 200000 entries, 64 folders deep, 5
// minutes).
type Transcript struct {
	// MaxBytes bounds the sum of the files' sizes, like "2g" or "512m".
	MaxBytes string `toml:"max_bytes"`
	// MaxEntries bounds how many files, folders and links it may have.
	MaxEntries int `toml:"max_entries"`
	// MaxDepth bounds how many folders deep a file may sit.
	MaxDepth int `toml:"max_depth"`
	// Timeout bounds how long the copy may take, like "5m" or "90s".
	Timeout string `toml:"timeout"`
}

// TranscriptBounds are the [transcript] table's values, parsed; zero
// fields keep the defaults (DefaultTranscriptTimeout for Timeout).
type TranscriptBounds struct {
	MaxBytes   int64
	MaxEntries int
	MaxDepth   int
	Timeout    time.Duration
}

// DefaultTranscriptTimeout bounds a snapshot's copy unless config says
// otherwise: minutes for what the size limits allow, not hours.
const DefaultTranscriptTimeout = 5 * time.Minute

// bounds parses the table (checked by validate).
func (t Transcript) bounds() TranscriptBounds {
	b := TranscriptBounds{MaxEntries: t.MaxEntries, MaxDepth: t.MaxDepth}
	if t.MaxBytes != "" {
		b.MaxBytes, _ = units.RAMInBytes(t.MaxBytes)
	}
	if t.Timeout != "" {
		b.Timeout, _ = time.ParseDuration(t.Timeout)
	}
	return b
}

// validate checks the transcript keys' values.
func (t Transcript) validate(path string, data []byte) error {
	if t.MaxBytes != "" {
		if n, err := units.RAMInBytes(t.MaxBytes); err != nil || n <= 0 {
			return badValue(path, data, "transcript.max_bytes", fmt.Sprintf("%q: want a size such as 2g or 512m", t.MaxBytes))
		}
	}
	if t.MaxEntries < 0 {
		return badValue(path, data, "transcript.max_entries", fmt.Sprintf("%d: want a positive number of entries", t.MaxEntries))
	}
	if t.MaxDepth < 0 {
		return badValue(path, data, "transcript.max_depth", fmt.Sprintf("%d: want a positive number of folders", t.MaxDepth))
	}
	if t.Timeout != "" {
		if d, err := time.ParseDuration(t.Timeout); err != nil || d <= 0 {
			return badValue(path, data, "transcript.timeout", fmt.Sprintf("%q: want a duration such as 5m or 90s", t.Timeout))
		}
	}
	return nil
}

// CheckTranscriptDir refuses an agent state folder that is not a folder
// under a user's home in the bottle (/root/... or /home/NAME/...): the
// folder is copied out and back in, so it must never be the home itself,
// a system folder, or a path that climbs with "..".
func CheckTranscriptDir(dir string) error {
	if !strings.HasPrefix(dir, "/") {
		return fmt.Errorf("%q must be an absolute path inside the bottle, under the agent's home (like /home/node/.claude)", dir)
	}
	for _, el := range strings.Split(strings.TrimSuffix(dir, "/"), "/")[1:] {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("%q must be a plain path, without empty, . or .. elements (like /home/node/.claude)", dir)
		}
	}
	clean := path.Clean(dir)
	if rest, ok := strings.CutPrefix(clean, "/root/"); ok && rest != "" {
		return nil
	}
	if rest, ok := strings.CutPrefix(clean, "/home/"); ok && strings.Contains(rest, "/") {
		return nil
	}
	return fmt.Errorf("%q must be a folder under the agent's home in the bottle (/root/... or /home/NAME/..., like /home/node/.claude), not the home itself or a folder outside it", dir)
}

// ClaudeJSONPath is where Claude Code keeps ~/.claude.json, its login
// and project list, for the state folder dir: in the home that holds dir.
// It is "" for a dir CheckTranscriptDir refuses.
func ClaudeJSONPath(dir string) string {
	if CheckTranscriptDir(dir) != nil {
		return ""
	}
	clean := path.Clean(dir)
	if strings.HasPrefix(clean, "/root/") {
		return "/root/.claude.json"
	}
	parts := strings.SplitN(clean, "/", 4) // "", "home", NAME, rest
	return "/" + path.Join(parts[1], parts[2], ".claude.json")
}
