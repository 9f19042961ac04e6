// Package request keeps the requests bottles make (capabilities now,
// egress with issue 15) and serves the host side of the bottle socket.
//
// A request is one JSON file, state/<slug>/requests/<id>.json, written
// atomically. Decisions (Approve, Deny, expiry) are library calls on a
// Store, serialised per bottle by a flock so that of two concurrent
// decisions exactly one wins. Approve builds through an Applier, which the
// capability package provides. The Server answers one bottle's socket and
// lets that bottle create and read its own requests only.
package request

import (
	"fmt"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// recordVersion is the format of a request file; a newer one is refused
// rather than misread.
const recordVersion = 1

// Origin says who made a request.
type Origin string

// Origins of requests.
const (
	// OriginAgent: the agent asked (MCP tool or `claude-bottle request`).
	OriginAgent Origin = "agent"
	// OriginHook: the PostToolUseFailure hook saw a failure (a suggestion).
	OriginHook Origin = "hook"
	// OriginProxy: the egress proxy refused a connection (a suggestion).
	OriginProxy Origin = "proxy"
)

// Evidence is what a suggestion was made from.
type Evidence struct {
	Tool    string `json:"tool"`
	Command string `json:"command,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Request is one request as stored on the host.
type Request struct {
	Version int             `json:"version"`
	ID      string          `json:"id"`
	Slug    string          `json:"slug"`
	Kind    bottleapi.Kind  `json:"kind"`
	State   bottleapi.State `json:"state"`
	Origin  Origin          `json:"origin"`
	Name    string          `json:"name"`
	// Run, Packages and Hosts are what the bottle asked for; Edited holds
	// what the operator approved instead, if anything.
	Run      []string  `json:"run,omitempty"`
	Packages []string  `json:"packages,omitempty"`
	Hosts    []string  `json:"hosts,omitempty"`
	Reason   string    `json:"reason"`
	Evidence *Evidence `json:"evidence,omitempty"`
	// Deadline is when the requester stops waiting; a pending request past
	// it is expired. Suggestions have none.
	CreatedAt  time.Time        `json:"created_at"`
	Deadline   time.Time        `json:"deadline,omitzero"`
	UpdatedAt  time.Time        `json:"updated_at"`
	DecidedAt  time.Time        `json:"decided_at,omitzero"`
	DecidedBy  string           `json:"decided_by,omitempty"`
	DenyReason string           `json:"deny_reason,omitempty"`
	Edited     *bottleapi.Edits `json:"edited,omitempty"`
	// ImageID is the image an applied request was built into.
	ImageID string `json:"image_id,omitempty"`
	// Error holds the first lines of a failed build.
	Error string `json:"error,omitempty"`
}

// Instructions returns the run commands and packages to apply: the
// operator's edit if there is one, else what was asked.
func (r *Request) Instructions() (run, pkgs []string) {
	if r.Edited != nil {
		return r.Edited.Run, r.Edited.Packages
	}
	return r.Run, r.Packages
}

// overdue reports whether the request is pending past its deadline.
func (r *Request) overdue(now time.Time) bool {
	return r.State == bottleapi.StatePending && !r.Deadline.IsZero() && !now.Before(r.Deadline)
}

// View is the request as its bottle sees it, with the sentence saying what
// happens next.
func (r *Request) View() bottleapi.Request {
	return bottleapi.Request{
		ID: r.ID, Kind: r.Kind, State: r.State, Name: r.Name,
		Run: r.Run, Packages: r.Packages, Hosts: r.Hosts, Reason: r.Reason,
		CreatedAt: r.CreatedAt, Deadline: r.Deadline, DecidedAt: r.DecidedAt,
		DecidedBy: r.DecidedBy, DenyReason: r.DenyReason, Edited: r.Edited,
		ImageID: r.ImageID, Error: r.Error, Next: r.Next(),
	}
}

// Next says, for the agent, what happens now.
func (r *Request) Next() string {
	if r.Kind == bottleapi.KindEgress {
		if s, ok := egressNext[r.State]; ok {
			return s
		}
	}
	switch r.State {
	case bottleapi.StateSuggested:
		return "Recorded as a suggestion for the operator; nobody waits for it. Ask with request_capability if you need it now."
	case bottleapi.StatePending:
		return "Waiting for the operator to decide."
	case bottleapi.StateApproved, bottleapi.StateApplying:
		return "Approved: the image is being built with it while you keep working. When it is ready this bottle restarts on the new image and your session resumes."
	case bottleapi.StateApplied:
		return "Approved and built. In a few seconds this bottle stops and restarts on the new image, at the same working folder, and your session resumes where it was: save your work now and do not start anything long."
	case bottleapi.StateFailed:
		return "Approved, but the image failed to build, so nothing changed: the bottle keeps running on its current image. Read the error; you may ask again with different instructions."
	case bottleapi.StateDenied:
		return "The operator denied it. Do not ask again for the same thing: work without it, or stop and explain what you need."
	case bottleapi.StateExpired:
		return "No decision came before the wait ended, so the request is withdrawn. Work without it, or ask again later."
	}
	return ""
}

// egressNext is what happens next for an egress request where it differs
// from a capability's: nothing is built, the proxy lets it through.
var egressNext = map[bottleapi.State]string{
	bottleapi.StateSuggested: "Recorded as a suggestion for the operator; nobody waits for it. Ask with request_egress if you need it now.",
	bottleapi.StateApproved:  "Approved: the bottle's proxy lets these hosts through in a moment; nothing restarts.",
	bottleapi.StateApplying:  "Approved: the bottle's proxy lets these hosts through in a moment; nothing restarts.",
	bottleapi.StateApplied:   "Approved: the bottle's proxy lets these hosts through now; nothing restarts. Retry the connection.",
	bottleapi.StateFailed:    "Approved, but recording it failed, so the hosts are still refused. Read the error; you may ask again.",
}

// Preview renders what approving the request would add to the bottle's
// image, for `request show`.
//
// TODO(capability): show capability.Diff (the override diff with the base's
// package manager resolved) once the capability package lands; this
// preview renders run commands as RUN lines and only names the packages.
func (r *Request) Preview() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# capability %q: %s (request %s)\n", r.Name, r.Reason, r.ID)
	run, pkgs := r.Instructions()
	for _, c := range run {
		fmt.Fprintf(&b, "RUN %s\n", c)
	}
	if len(pkgs) > 0 {
		fmt.Fprintf(&b, "# packages %s, installed with the base's package manager (apt, apk or dnf)\n", strings.Join(pkgs, " "))
	}
	for _, h := range r.Hosts {
		fmt.Fprintf(&b, "# egress to %s\n", h)
	}
	if len(run) == 0 && len(pkgs) == 0 && len(r.Hosts) == 0 {
		b.WriteString("# no instructions yet: approve with --run or --package\n")
	}
	return b.String()
}
