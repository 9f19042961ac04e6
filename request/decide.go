package request

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// Applier builds an approved request into the bottle's image (build, then
// swap the tag). The capability package implements it; Approve calls it
// with the request already marked applying.
type Applier interface {
	Apply(ctx context.Context, in ApplyInput) (ApplyResult, error)
}

// ApplyInput is what an Applier builds: the request's instructions as
// approved (with the operator's edits).
type ApplyInput struct {
	Slug      string
	RequestID string
	Kind      bottleapi.Kind
	Name      string
	Run       []string
	Packages  []string
	Hosts     []string
	Reason    string
	// ApprovedBy and ApprovedAt are recorded in the capability and audit.
	ApprovedBy string
	ApprovedAt time.Time
}

// ApplyResult is what an Applier built.
type ApplyResult struct {
	// ImageID is the new image's ID.
	ImageID string
}

// ErrNoApplier is returned by Approve when no Applier is given: nothing is
// changed.
var ErrNoApplier = errors.New("nothing can apply an approved request here")

// ErrNoInstructions is returned when approving a suggestion that has no
// run commands or packages without giving some.
var ErrNoInstructions = errors.New("the request has no instructions")

// ApproveOptions says which request to approve, by whom, with what edits.
type ApproveOptions struct {
	ID string
	By string
	// Run or Packages, when set, replace the request's instructions (the
	// operator's edit); what changed is recorded and told to the agent.
	Run      []string
	Packages []string
	Applier  Applier
}

// maxErrorLines and maxErrorBytes bound the build error kept in a failed
// request and shown to the agent.
const (
	maxErrorLines = 12
	maxErrorBytes = 2000
)

// Approve approves an open request and applies it: the record goes
// approved, then applying, then applied (with the image ID) or failed
// (with the error's first lines). If ctx is canceled during the build
// (Ctrl-C), the request goes back to what it was (pending, or suggested)
// and the error says so. Of two concurrent decisions on one request
// exactly one wins; the other gets ErrDecided and changes nothing.
func (s *Store) Approve(ctx context.Context, o ApproveOptions) (*Request, error) {
	if len(o.Run) > 0 || len(o.Packages) > 0 {
		if err := bottleapi.ValidateInstructions(o.Run, o.Packages); err != nil {
			return nil, err
		}
	}
	found, err := s.Find(o.ID)
	if err != nil {
		return nil, err
	}
	// The apply lock is held until the outcome is recorded: it tells a
	// live approval from one whose process died (see recoverStale).
	release, ok, err := s.applyLock(found.Slug, o.ID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return found, fmt.Errorf("%w: request %s is being approved by another claude-bottle; nothing changed", ErrDecided, o.ID)
	}
	defer release()
	var prior bottleapi.State
	r, err := s.update(ctx, found.Slug, o.ID, func(r *Request) (bool, error) {
		if changed, err := s.checkOpen(r); err != nil {
			return changed, err
		}
		if o.Applier == nil {
			return false, fmt.Errorf("%w: approving needs the capability package; nothing changed", ErrNoApplier)
		}
		prior = r.State
		if err := applyEdit(r, o.Run, o.Packages); err != nil {
			return false, err
		}
		r.State, r.DecidedAt, r.DecidedBy = bottleapi.StateApproved, s.now().UTC(), o.By
		return true, nil
	})
	if err != nil {
		return r, err
	}
	if r, err = s.setState(ctx, r, bottleapi.StateApproved, bottleapi.StateApplying); err != nil {
		return r, err
	}
	return s.apply(ctx, r, prior, o.Applier)
}

// apply runs the Applier and records its outcome. The outcome is written
// even when ctx is canceled: the lock is taken on a context that is not.
func (s *Store) apply(ctx context.Context, r *Request, prior bottleapi.State, a Applier) (*Request, error) {
	run, pkgs := r.Instructions()
	res, aerr := a.Apply(ctx, ApplyInput{
		Slug: r.Slug, RequestID: r.ID, Kind: r.Kind, Name: r.Name, Run: run, Packages: pkgs,
		Hosts: r.Hosts, Reason: r.Reason, ApprovedBy: r.DecidedBy, ApprovedAt: r.DecidedAt,
	})
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	canceled := aerr != nil && ctx.Err() != nil
	out, err := s.update(wctx, r.Slug, r.ID, func(r *Request) (bool, error) {
		switch {
		case aerr == nil:
			r.State, r.ImageID, r.Error = bottleapi.StateApplied, res.ImageID, ""
		case canceled:
			revert(r)
		default:
			r.State, r.Error = bottleapi.StateFailed, firstLines(aerr.Error())
		}
		return true, nil
	})
	switch {
	case err != nil:
		return out, fmt.Errorf("recording the outcome of request %s: %w", r.ID, err)
	case canceled:
		return out, fmt.Errorf("approval of request %s interrupted; it is %s again: %w", r.ID, prior, context.Cause(ctx))
	case aerr != nil:
		return out, fmt.Errorf("applying request %s (capability %q): %w", r.ID, r.Name, aerr)
	}
	return out, nil
}

// Deny denies an open request with the operator's reason, which the agent
// is told.
func (s *Store) Deny(ctx context.Context, id, reason, by string) (*Request, error) {
	if err := bottleapi.ValidateReason("deny reason", reason, bottleapi.MaxDenyReason); err != nil {
		return nil, err
	}
	found, err := s.Find(id)
	if err != nil {
		return nil, err
	}
	return s.update(ctx, found.Slug, id, func(r *Request) (bool, error) {
		if changed, err := s.checkOpen(r); err != nil {
			return changed, err
		}
		r.State, r.DenyReason, r.DecidedAt, r.DecidedBy = bottleapi.StateDenied, reason, s.now().UTC(), by
		return true, nil
	})
}

// checkOpen refuses a decision on a request that is not open. A pending
// request past its deadline is expired first (changed is then true): its
// requester stopped waiting.
func (s *Store) checkOpen(r *Request) (changed bool, err error) {
	if s.recoverStale(r) {
		changed = true
	}
	if r.overdue(s.now()) {
		s.expire(r)
		return true, fmt.Errorf("%w: request %s expired at %s (its requester stopped waiting); nothing changed", ErrDecided, r.ID, r.Deadline.Local().Format(time.DateTime))
	}
	if !r.State.Open() {
		return changed, fmt.Errorf("%w: request %s is %s%s; nothing changed", ErrDecided, r.ID, r.State, decidedBy(r))
	}
	return changed, nil
}

func (s *Store) expire(r *Request) {
	r.State, r.DecidedAt = bottleapi.StateExpired, s.now().UTC()
}

func decidedBy(r *Request) string {
	if r.DecidedBy == "" || r.DecidedAt.IsZero() {
		return ""
	}
	return fmt.Sprintf(" (by %s at %s)", r.DecidedBy, r.DecidedAt.Local().Format(time.DateTime))
}

// setState moves r from one state to the next under the lock.
func (s *Store) setState(ctx context.Context, r *Request, from, to bottleapi.State) (*Request, error) {
	return s.update(ctx, r.Slug, r.ID, func(r *Request) (bool, error) {
		if r.State != from {
			return false, fmt.Errorf("%w: request %s is %s, not %s; nothing changed", ErrDecided, r.ID, r.State, from)
		}
		r.State = to
		return true, nil
	})
}

// Expire marks the request expired if it is pending past its deadline, and
// returns it as it now is.
func (s *Store) Expire(ctx context.Context, slug, id string) (*Request, error) {
	return s.update(ctx, slug, id, func(r *Request) (bool, error) {
		if !r.overdue(s.now()) {
			return false, nil
		}
		s.expire(r)
		return true, nil
	})
}

// ExpireOverdue expires every pending request of the bottle past its
// deadline (after a crash nobody long-polls them) and returns those it
// expired.
func (s *Store) ExpireOverdue(ctx context.Context, slug string) ([]*Request, error) {
	all, err := s.List(slug)
	if err != nil {
		return nil, err
	}
	var out []*Request
	for _, r := range all {
		if !r.overdue(s.now()) {
			continue
		}
		r, err := s.Expire(ctx, slug, r.ID)
		if err != nil {
			return out, err
		}
		if r.State == bottleapi.StateExpired {
			out = append(out, r)
		}
	}
	return out, nil
}

// applyEdit records the operator's replacement instructions on r, and
// what changed. Instructions equal to the asked ones are no edit. A
// request with no instructions at all (a suggestion) needs some.
func applyEdit(r *Request, run, pkgs []string) error {
	if len(run) == 0 && len(pkgs) == 0 {
		if len(r.Run) == 0 && len(r.Packages) == 0 && len(r.Hosts) == 0 {
			return fmt.Errorf("%w: request %s (%s) asks for nothing to run or install yet; approve it with --run or --package", ErrNoInstructions, r.ID, r.Name)
		}
		return nil
	}
	if r.Kind != bottleapi.KindCapability {
		return fmt.Errorf("%w: request %s asks for %s; only capability requests take --run or --package", bottleapi.ErrInvalid, r.ID, r.Kind)
	}
	if slices.Equal(run, r.Run) && slices.Equal(pkgs, r.Packages) {
		return nil
	}
	r.Edited = &bottleapi.Edits{Run: run, Packages: pkgs, Summary: editSummary(r.Run, r.Packages, run, pkgs)}
	return nil
}

// editSummary says in one sentence what the operator changed.
func editSummary(askedRun, askedPkgs, run, pkgs []string) string {
	asked := describe(askedRun, askedPkgs)
	got := describe(run, pkgs)
	if asked == "" {
		return "The operator chose the instructions: " + got + "."
	}
	return "The operator replaced " + asked + " with " + got + "."
}

func describe(run, pkgs []string) string {
	switch {
	case len(run) > 0:
		return "the run commands `" + strings.Join(run, "`; `") + "`"
	case len(pkgs) > 0:
		return "the packages " + strings.Join(pkgs, ", ")
	}
	return ""
}

// firstLines keeps the start of a build error for the record, without
// the control characters a build log may hold (colours, cursor moves).
func firstLines(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "?"))
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > maxErrorLines {
		lines = append(lines[:maxErrorLines], "...")
	}
	out := strings.Join(lines, "\n")
	if len(out) > maxErrorBytes {
		out = strings.ToValidUTF8(out[:maxErrorBytes], "") + "..."
	}
	return out
}
