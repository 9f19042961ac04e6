package capability

import (
	"context"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// ActionSetBase and ActionReset are the audit actions of SetBase and
// Reset.
const (
	ActionSetBase = "set-base"
	ActionReset   = "reset"
)

// HasList reports whether a bottle keeps capabilities (a capabilities.json):
// then its own Dockerfile is its base (SetBase), not its override.
func HasList(store *state.Store, slug string) (bool, error) {
	b, err := store.Bottle(slug)
	if err != nil {
		return false, err
	}
	_, ok, err := b.ReadFileAt(ListFile)
	return ok, err
}

// SetBase makes data (already validated as a Dockerfile) the bottle's own
// base, as `state set-dockerfile` does for a bottle with capabilities.
// The override is not rendered again: the bottle is stale until `capability
// rebase` builds it on the new base, so nothing changes under a running
// bottle without a build.
func SetBase(ctx context.Context, store *state.Store, slug string, data []byte, user string) error {
	return changeFiles(ctx, store, slug, user, ActionSetBase, func(s *snapshot) { s.baseFile = data })
}

// Reset removes the bottle's override, capabilities and own base, so it
// builds the repo's Dockerfile again (as `state reset` does); the state
// is saved for Rollback. Tags are not moved.
func Reset(ctx context.Context, store *state.Store, slug string, user string) error {
	return changeFiles(ctx, store, slug, user, ActionReset, func(s *snapshot) { *s = snapshot{} })
}

// changeFiles makes a change of state files alone, under the lock, with
// the old state saved and the change audited.
func changeFiles(ctx context.Context, store *state.Store, slug, user, action string, edit func(*snapshot)) error {
	b, err := store.Bottle(slug)
	if err != nil {
		return err
	}
	unlock, err := b.LockState(ctx, nil)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := loadFiles(b)
	if err != nil {
		return err
	}
	next := &snapshot{list: cur.list.clone(), override: cur.override, baseFile: cur.baseFile}
	edit(next)
	now := time.Now().UTC().Round(time.Second)
	if err := savePrevious(b, cur.files(), "", now); err != nil {
		return err
	}
	if err := writeFiles(b, next.files()); err != nil {
		return fmt.Errorf("bottle %q: %w", slug, err)
	}
	if user == "" {
		user = CurrentUser()
	}
	e := Entry{Time: now, User: user, Action: action}
	if next.baseFile != nil {
		e.BaseDigest = contentDigest(next.baseFile)
	}
	return appendAudit(b, e)
}
