package request

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

func TestDecisions(t *testing.T) {
	buildErr := errors.New("RUN apt-get install -y nope\n" + strings.Repeat("E: Unable to locate package nope\n", 20))
	for _, tc := range []struct {
		name     string
		create   bottleapi.CreateRequest
		suggest  bool // make it a hook suggestion instead
		setup    func(*Store, *clock, string)
		decide   func(*Store, string, *fakeApplier) (*Request, error)
		applyErr error
		wantErr  error // class; nil = success
		want     bottleapi.State
		check    func(*testing.T, *Request, *fakeApplier)
	}{
		{
			name:   "approve applies",
			create: pkgRequest("jq", "jq"),
			decide: approve(ApproveOptions{By: "alice"}),
			want:   bottleapi.StateApplied,
			check: func(t *testing.T, r *Request, f *fakeApplier) {
				if r.ImageID != "sha256:new" || r.DecidedBy != "alice" || r.DecidedAt.IsZero() || r.Edited != nil {
					t.Errorf("record %+v", r)
				}
				if len(f.sawWhen) != 1 || f.sawWhen[0] != bottleapi.StateApplying {
					t.Errorf("the applier saw the request %v, want applying", f.sawWhen)
				}
				in := f.inputs[0]
				if in.Name != "jq" || in.Packages[0] != "jq" || in.ApprovedBy != "alice" || in.Slug != "demo" || in.RequestID != r.ID {
					t.Errorf("ApplyInput %+v", in)
				}
			},
		},
		{
			name:   "approve with edited run commands",
			create: pkgRequest("jq", "jq"),
			decide: approve(ApproveOptions{By: "alice", Run: []string{"apt-get install -y jq=1.6"}}),
			want:   bottleapi.StateApplied,
			check: func(t *testing.T, r *Request, f *fakeApplier) {
				if r.Edited == nil || r.Edited.Run[0] != "apt-get install -y jq=1.6" || !strings.Contains(r.Edited.Summary, "replaced the packages jq with the run commands `apt-get install -y jq=1.6`") {
					t.Errorf("edit %+v", r.Edited)
				}
				if r.Packages[0] != "jq" {
					t.Error("the asked instructions were overwritten")
				}
				if in := f.inputs[0]; len(in.Packages) != 0 || in.Run[0] != "apt-get install -y jq=1.6" {
					t.Errorf("the applier got %+v, not the edit", in)
				}
			},
		},
		{
			name:   "an edit equal to the request is no edit",
			create: pkgRequest("jq", "jq"),
			decide: approve(ApproveOptions{Packages: []string{"jq"}}),
			want:   bottleapi.StateApplied,
			check: func(t *testing.T, r *Request, _ *fakeApplier) {
				if r.Edited != nil {
					t.Errorf("edit %+v", r.Edited)
				}
			},
		},
		{
			name:     "a failed build is recorded with its first lines",
			create:   pkgRequest("nope", "nope"),
			decide:   approve(ApproveOptions{}),
			applyErr: buildErr,
			wantErr:  buildErr,
			want:     bottleapi.StateFailed,
			check: func(t *testing.T, r *Request, _ *fakeApplier) {
				lines := strings.Split(r.Error, "\n")
				if len(lines) != maxErrorLines+1 || lines[0] != "RUN apt-get install -y nope" || lines[maxErrorLines] != "..." {
					t.Errorf("error kept:\n%s", r.Error)
				}
			},
		},
		{
			name:    "an edit that is not valid changes nothing",
			create:  pkgRequest("jq", "jq"),
			decide:  approve(ApproveOptions{Packages: []string{"jq; rm -rf /"}}),
			wantErr: bottleapi.ErrInvalid,
			want:    bottleapi.StatePending,
		},
		{
			name:   "no applier changes nothing",
			create: pkgRequest("jq", "jq"),
			decide: func(s *Store, id string, _ *fakeApplier) (*Request, error) {
				return s.Approve(context.Background(), ApproveOptions{ID: id})
			},
			wantErr: ErrNoApplier,
			want:    bottleapi.StatePending,
		},
		{
			name:   "deny",
			create: pkgRequest("jq", "jq"),
			decide: deny("use python's json module", "bob"),
			want:   bottleapi.StateDenied,
			check: func(t *testing.T, r *Request, f *fakeApplier) {
				if r.DenyReason != "use python's json module" || r.DecidedBy != "bob" || len(f.inputs) != 0 {
					t.Errorf("record %+v, applier calls %d", r, len(f.inputs))
				}
			},
		},
		{
			name:    "deny without a reason",
			create:  pkgRequest("jq", "jq"),
			decide:  deny(" ", "bob"),
			wantErr: bottleapi.ErrInvalid,
			want:    bottleapi.StatePending,
		},
		{
			name:   "a denied request cannot be approved",
			create: pkgRequest("jq", "jq"),
			setup: func(s *Store, _ *clock, id string) {
				s.Deny(context.Background(), id, "no", "bob")
			},
			decide:  approve(ApproveOptions{}),
			wantErr: ErrDecided,
			want:    bottleapi.StateDenied,
		},
		{
			name:   "an applied request cannot be denied",
			create: pkgRequest("jq", "jq"),
			setup: func(s *Store, _ *clock, id string) {
				s.Approve(context.Background(), ApproveOptions{ID: id, Applier: &fakeApplier{store: s}})
			},
			decide:  deny("too late", "bob"),
			wantErr: ErrDecided,
			want:    bottleapi.StateApplied,
		},
		{
			name:    "an overdue request expires instead of being approved",
			create:  pkgRequest("jq", "jq"),
			setup:   func(_ *Store, c *clock, _ string) { c.add(bottleapi.DefaultWait) },
			decide:  approve(ApproveOptions{}),
			wantErr: ErrDecided,
			want:    bottleapi.StateExpired,
		},
		{
			name:    "an overdue request expires instead of being denied",
			create:  pkgRequest("jq", "jq"),
			setup:   func(_ *Store, c *clock, _ string) { c.add(bottleapi.DefaultWait + time.Hour) },
			decide:  deny("no", "bob"),
			wantErr: ErrDecided,
			want:    bottleapi.StateExpired,
		},
		{
			name:    "a suggestion with nothing to run needs instructions",
			suggest: true,
			decide:  approve(ApproveOptions{}),
			wantErr: ErrNoInstructions,
			want:    bottleapi.StateSuggested,
		},
		{
			name:    "a suggestion approved with packages",
			suggest: true,
			decide:  approve(ApproveOptions{By: "alice", Packages: []string{"jq"}}),
			want:    bottleapi.StateApplied,
			check: func(t *testing.T, r *Request, _ *fakeApplier) {
				if r.Edited == nil || r.Edited.Summary != "The operator chose the instructions: the packages jq." {
					t.Errorf("edit %+v", r.Edited)
				}
			},
		},
		{
			name:    "a suggestion can be denied (dismissed)",
			suggest: true,
			decide:  deny("not needed", "bob"),
			want:    bottleapi.StateDenied,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			c := withClock(s)
			var id string
			if tc.suggest {
				r, _, err := s.Suggest(context.Background(), "demo", hookSuggestion("jq"), OriginHook)
				if err != nil {
					t.Fatal(err)
				}
				id = r.ID
			} else {
				id = mustCreate(t, s, "demo", tc.create).ID
			}
			if tc.setup != nil {
				tc.setup(s, c, id)
			}
			before := tree(t, s.st.Root())
			f := &fakeApplier{store: s, err: tc.applyErr, image: "sha256:new"}
			_, err := tc.decide(s, id, f)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			got := mustGet(t, s, "demo", id)
			if got.State != tc.want {
				t.Fatalf("state %s, want %s", got.State, tc.want)
			}
			if tc.wantErr != nil && tc.want != bottleapi.StateExpired && tc.want != bottleapi.StateFailed {
				if after := tree(t, s.st.Root()); after != before {
					t.Errorf("a refused decision changed the files:\n%s\nto\n%s", before, after)
				}
			}
			if tc.check != nil {
				tc.check(t, got, f)
			}
		})
	}
}

func approve(o ApproveOptions) func(*Store, string, *fakeApplier) (*Request, error) {
	return func(s *Store, id string, f *fakeApplier) (*Request, error) {
		o.ID, o.Applier = id, f
		return s.Approve(context.Background(), o)
	}
}

func deny(reason, by string) func(*Store, string, *fakeApplier) (*Request, error) {
	return func(s *Store, id string, _ *fakeApplier) (*Request, error) {
		return s.Deny(context.Background(), id, reason, by)
	}
}

func TestCanceledBuildGoesBackToPending(t *testing.T) {
	s := newTestStore(t)
	r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	f := &fakeApplier{store: s, block: make(chan struct{})}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Approve(ctx, ApproveOptions{ID: r.ID, By: "alice", Packages: []string{"jq", "curl"}, Applier: f})
		done <- err
	}()
	waitFor(t, func() bool { return mustGet(t, s, "demo", r.ID).State == bottleapi.StateApplying })
	cancel(errors.New("interrupted by interrupt"))
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "it is pending again") || !strings.Contains(err.Error(), "interrupted by interrupt") {
		t.Fatalf("err = %v", err)
	}
	got := mustGet(t, s, "demo", r.ID)
	if got.State != bottleapi.StatePending || got.Edited != nil || got.DecidedBy != "" || !got.DecidedAt.IsZero() {
		t.Fatalf("after the interrupted build: %+v", got)
	}
	// It can be decided again.
	if _, err := s.Deny(context.Background(), r.ID, "later", "alice"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentDecisionsOneWins races approvals and denials of one
// request: exactly one succeeds, the others get ErrDecided, and the record
// matches the winner.
func TestConcurrentDecisionsOneWins(t *testing.T) {
	s := newTestStore(t)
	for round := range 10 {
		r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
		f := &fakeApplier{store: s, image: "sha256:x"}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var wins []string
		start := make(chan struct{})
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				var err error
				who := fmt.Sprintf("op%d", i)
				if i%2 == 0 {
					_, err = s.Approve(context.Background(), ApproveOptions{ID: r.ID, By: who, Applier: f})
				} else {
					_, err = s.Deny(context.Background(), r.ID, "no", who)
				}
				switch {
				case err == nil:
					mu.Lock()
					wins = append(wins, who)
					mu.Unlock()
				case !errors.Is(err, ErrDecided):
					t.Errorf("round %d %s: %v, want ErrDecided", round, who, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("round %d: winners %v, want exactly one", round, wins)
		}
		got := mustGet(t, s, "demo", r.ID)
		if got.DecidedBy != wins[0] {
			t.Errorf("round %d: record decided by %q, winner %q", round, got.DecidedBy, wins[0])
		}
		approved := got.State == bottleapi.StateApplied
		if approved != (len(f.inputs) == 1) || (!approved && got.State != bottleapi.StateDenied) || len(f.inputs) > 1 {
			t.Errorf("round %d: state %s with %d builds", round, got.State, len(f.inputs))
		}
	}
}

func TestExpireOverdue(t *testing.T) {
	s := newTestStore(t)
	c := withClock(s)
	short := pkgRequest("jq", "jq")
	short.WaitSeconds = 60
	a := mustCreate(t, s, "demo", short)
	b := mustCreate(t, s, "demo", pkgRequest("yq", "yq"))
	c.add(2 * time.Minute)
	got, err := s.ExpireOverdue(context.Background(), "demo")
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("ExpireOverdue = %v, %v", got, err)
	}
	if mustGet(t, s, "demo", a.ID).State != bottleapi.StateExpired || mustGet(t, s, "demo", b.ID).State != bottleapi.StatePending {
		t.Error("wrong states after expiry")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5 s")
}
