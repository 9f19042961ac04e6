package capability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// Audit actions.
const (
	ActionAdd      = "add"
	ActionRemove   = "remove"
	ActionRebase   = "rebase"
	ActionRollback = "rollback"
	ActionBuilt    = "built"
)

// Entry is one line of a bottle's audit.jsonl: one change.
type Entry struct {
	Time time.Time `json:"time"`
	// User is who made the change (the operator's login).
	User string `json:"user"`
	// Action is ActionAdd, ActionRemove, ActionRebase, ActionRollback or
	// ActionBuilt.
	Action string `json:"action"`
	// Capability is the capability changed, if one was.
	Capability string `json:"capability,omitempty"`
	// RequestID is the request the change came from, if one did.
	RequestID string `json:"request_id,omitempty"`
	// BaseDigest is the digest of the base the new override is rendered on.
	BaseDigest string `json:"base_digest,omitempty"`
	// ImageBefore and ImageAfter are the bottle's image IDs before and
	// after the change (equal after a change recorded with --no-build).
	ImageBefore string `json:"image_before,omitempty"`
	ImageAfter  string `json:"image_after,omitempty"`
	// Detail says more in a few words ("not built: --no-build").
	Detail string `json:"detail,omitempty"`
}

// appendAudit appends e to the bottle's audit log. Callers hold the
// bottle's lock, so lines from two changes never interleave.
func appendAudit(b *state.Bottle, e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := b.AppendFileAt(AuditFile, append(line, '\n')); err != nil {
		return fmt.Errorf("bottle %q: recording the change in %s: %w", b.Slug(), b.FilePath(AuditFile), err)
	}
	return nil
}

// Log returns a bottle's audit log, oldest first. A last line cut short
// by a crash is skipped; any other damaged line is an error naming it.
func Log(store *state.Store, slug string) ([]Entry, error) {
	b, err := store.Bottle(slug)
	if err != nil {
		return nil, err
	}
	data, ok, err := b.ReadFileAt(AuditFile)
	if err != nil || !ok {
		return nil, err
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	out := make([]Entry, 0, len(lines))
	for i, l := range lines {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			if i == len(lines)-1 && !bytes.HasSuffix(data, []byte("\n")) {
				break
			}
			return out, fmt.Errorf("bottle %q: %s line %d is damaged: %v", slug, b.FilePath(AuditFile), i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// CurrentUser names the person running claude-bottle, for the audit log
// and as a capability's approver: $USER, else the account's login name.
func CurrentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
