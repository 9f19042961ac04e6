package request

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// An approval holds a flock on ".apply-<id>.lock" in the bottle's folder
// from before it marks the request approved until its outcome is recorded.
// A request approved or applying whose lock is free was left by an
// approval whose process died (killed, or the machine crashed): it goes
// back to what it was, as after Ctrl-C, so it can be decided again and its
// requester is not kept waiting for a build nobody runs.

func applyLockName(id string) string { return ".apply-" + id + ".lock" }

// applyLock takes the request's apply lock without waiting. The release
// function removes the lock file (while still holding it: a process that
// opened the old file finds it locked, one that makes a new one finds the
// request decided) and unlocks.
func (s *Store) applyLock(slug, id string) (release func(), ok bool, err error) {
	b, err := s.st.Bottle(slug)
	if err != nil {
		return nil, false, err
	}
	unlock, ok, err := b.TryLock(applyLockName(id))
	if err != nil || !ok {
		return nil, ok, err
	}
	return func() {
		os.Remove(filepath.Join(b.Dir(), applyLockName(id)))
		unlock()
	}, true, nil
}

// recoverStale puts r back to pending (or suggested) when it is approved
// or applying and no live approval holds its apply lock. It reports
// whether it changed r (the caller writes it). Call it under the bottle's
// request lock.
func (s *Store) recoverStale(r *Request) bool {
	if r.State != bottleapi.StateApproved && r.State != bottleapi.StateApplying {
		return false
	}
	release, ok, err := s.applyLock(r.Slug, r.ID)
	if err != nil || !ok {
		return false
	}
	defer release()
	revert(r)
	return true
}

// revert undoes an approval that did not finish: the request is open
// again, with no decision and no edit.
func revert(r *Request) {
	r.State = bottleapi.StatePending
	if r.Deadline.IsZero() {
		r.State = bottleapi.StateSuggested
	}
	r.Edited, r.DecidedAt, r.DecidedBy = nil, time.Time{}, ""
}

// Recover puts back every request of the bottle left approved or applying
// by an approval whose process died, and returns them. The supervisor
// calls it when it starts; decisions and long polls also recover the
// request they touch.
func (s *Store) Recover(ctx context.Context, slug string) ([]*Request, error) {
	all, err := s.List(slug)
	if err != nil {
		return nil, err
	}
	var out []*Request
	for _, r := range all {
		if r.State != bottleapi.StateApproved && r.State != bottleapi.StateApplying {
			continue
		}
		var changed bool
		r, err := s.update(ctx, slug, r.ID, func(r *Request) (bool, error) {
			changed = s.recoverStale(r)
			return changed, nil
		})
		if err != nil {
			return out, err
		}
		if changed {
			out = append(out, r)
		}
	}
	return out, nil
}

// recoverOne is Recover for one request; it returns the request as it now
// is.
func (s *Store) recoverOne(ctx context.Context, slug, id string) (*Request, error) {
	return s.update(ctx, slug, id, func(r *Request) (bool, error) {
		return s.recoverStale(r), nil
	})
}
