package request

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// leaveApplying writes the request as an approval whose process died
// during the build leaves it: applying, with nobody holding its apply
// lock.
func leaveApplying(t *testing.T, s *Store, slug, id string) {
	t.Helper()
	_, err := s.update(context.Background(), slug, id, func(r *Request) (bool, error) {
		r.State, r.DecidedBy, r.DecidedAt = bottleapi.StateApplying, "alice", s.now().UTC()
		r.Edited = &bottleapi.Edits{Packages: []string{"gawk"}, Summary: "x"}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestADeadApprovalIsPutBack(t *testing.T) {
	s := newTestStore(t)
	r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	sug, _, _ := s.Suggest(context.Background(), "demo", hookSuggestion("yq"), OriginHook)
	leaveApplying(t, s, "demo", r.ID)
	leaveApplying(t, s, "demo", sug.ID)
	got, err := s.Recover(context.Background(), "demo")
	if err != nil || len(got) != 2 {
		t.Fatalf("Recover = %v, %v", got, err)
	}
	a, b := mustGet(t, s, "demo", r.ID), mustGet(t, s, "demo", sug.ID)
	if a.State != bottleapi.StatePending || a.Edited != nil || a.DecidedBy != "" || b.State != bottleapi.StateSuggested {
		t.Fatalf("after Recover: %+v\n%+v", a, b)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(s.st.StateDir(), "demo", ".apply-*")); len(leftovers) != 0 {
		t.Errorf("lock files left: %v", leftovers)
	}
	// A decision recovers it on its own too.
	leaveApplying(t, s, "demo", r.ID)
	if _, err := s.Deny(context.Background(), r.ID, "no", "bob"); err != nil {
		t.Fatalf("deny of a dead approval: %v", err)
	}
}

func TestALiveApprovalIsLeftAlone(t *testing.T) {
	s := newTestStore(t)
	r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	f := &fakeApplier{store: s, block: make(chan struct{}), image: "sha256:x"}
	done := make(chan error, 1)
	go func() {
		_, err := s.Approve(context.Background(), ApproveOptions{ID: r.ID, By: "alice", Applier: f})
		done <- err
	}()
	waitFor(t, func() bool { return mustGet(t, s, "demo", r.ID).State == bottleapi.StateApplying })
	if got, err := s.Recover(context.Background(), "demo"); err != nil || len(got) != 0 {
		t.Fatalf("Recover during a live build = %v, %v", got, err)
	}
	if _, err := s.Deny(context.Background(), r.ID, "no", "bob"); !errors.Is(err, ErrDecided) {
		t.Fatalf("deny during a live build: %v", err)
	}
	if _, err := s.Approve(context.Background(), ApproveOptions{ID: r.ID, Applier: f}); !errors.Is(err, ErrDecided) {
		t.Fatalf("second approval during a live build: %v", err)
	}
	close(f.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "demo", r.ID); got.State != bottleapi.StateApplied {
		t.Fatalf("state %s", got.State)
	}
	if _, err := os.Stat(filepath.Join(s.st.StateDir(), "demo", applyLockName(r.ID))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the apply lock file was left: %v", err)
	}
}

func TestLongPollRecoversADeadApproval(t *testing.T) {
	s := newTestStore(t)
	c := serveSocket(t, s, "demo", ServerOptions{})
	r := c.create(`{"kind":"capability","name":"jq","packages":["jq"],"reason":"r","wait_seconds":2}`)
	leaveApplying(t, s, "demo", r.ID)
	start := time.Now()
	var got bottleapi.Request
	c.do("GET", bottleapi.PathRequest+r.ID+"?wait=30", "", &got)
	if got.State != bottleapi.StateExpired || time.Since(start) > 10*time.Second {
		t.Fatalf("after %v: %s", time.Since(start), got.State)
	}
}
