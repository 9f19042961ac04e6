package launch

import (
	"fmt"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// ResumeHint is the line a launch prints when bottle b's image changed
// after its last run, because a capability request was approved and
// applied while no launch ran it: the session is in the transcript
// snapshot, and --resume continues it. It is "" when there is nothing to
// say (no snapshot, or no request applied since).
func ResumeHint(rs *request.Store, b *state.Bottle) string {
	snap, ok, err := b.Snapshot()
	if err != nil || !ok {
		return ""
	}
	reqs, err := rs.List(b.Slug())
	if err != nil {
		return ""
	}
	var last *request.Request
	for _, r := range reqs {
		if r.State == bottleapi.StateApplied && r.Kind == bottleapi.KindCapability && r.UpdatedAt.After(snap.Taken) {
			last = r // oldest first: the last one wins
		}
	}
	if last == nil {
		return ""
	}
	return fmt.Sprintf("claude-bottle: bottle %s's image changed since its last run (request %s applied: %s %s); add --resume to continue the agent's session where it was",
		b.Slug(), last.ID, last.Kind, clean(last.Name, 40))
}
