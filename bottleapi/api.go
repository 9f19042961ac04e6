// Package bottleapi is the protocol of the bottle socket: the paths, the
// JSON shapes and the input rules shared by the host side (package request,
// which serves the socket) and the in-bottle side (package inbottle, which
// calls it). It imports nothing of claude-bottle, so the in-bottle side
// links no engine client, no host state and no key.
//
// The socket speaks HTTP/1.1. Every error response is a JSON Error with one
// line saying what was wrong.
package bottleapi

import "time"

// Paths and names the bottle sees.
const (
	// SocketEnv names the environment variable holding the socket's path
	// inside a bottle.
	SocketEnv = "CLAUDE_BOTTLE_SOCKET"
	// DefaultSocket is where the socket is mounted in every bottle.
	DefaultSocket = "/run/claude-bottle/bottle.sock"
	// SocketDir is the read-only mount that holds the socket.
	SocketDir = "/run/claude-bottle"
	// BinaryPath is where the claude-bottle binary is mounted, read-only.
	BinaryPath = "/opt/claude-bottle/bin/claude-bottle"
	// ManagedDir is where Claude Code reads its managed configuration on
	// Linux; it is mounted read-only so the agent cannot change it.
	ManagedDir = "/etc/claude-code"
)

// HTTP paths served on the socket.
const (
	// PathRequests takes POST CreateRequest and answers 201 Request.
	PathRequests = "/claude-bottle/v1/requests"
	// PathRequest is PathRequests + "/{id}": GET ?wait=SECONDS answers the
	// Request, long-polling until it is decided or the wait ends.
	PathRequest = "/claude-bottle/v1/requests/"
	// PathSuggestions takes POST Suggestion and answers 201 Request (or 200
	// with the open suggestion it repeats).
	PathSuggestions = "/claude-bottle/v1/suggestions"
	// PathStatus answers GET with Status.
	PathStatus = "/claude-bottle/v1/status"
	// PathAnthropic is the prefix of the reverse proxy to the Anthropic API
	// (served by the egress side, issue 15).
	PathAnthropic = "/anthropic/"
)

// Waits.
const (
	// DefaultWait is how long a requester waits for a decision unless told
	// otherwise.
	DefaultWait = 30 * time.Minute
	// MaxWait bounds any requester's wait.
	MaxWait = 24 * time.Hour
	// MaxPoll bounds one long-poll; longer waits poll again.
	MaxPoll = 5 * time.Minute
)

// Kind is what a request asks for.
type Kind string

// Kinds of requests.
const (
	// KindCapability asks for a layer in the bottle's image: run commands or
	// packages.
	KindCapability Kind = "capability"
	// KindEgress asks for network access to hosts (issue 15).
	KindEgress Kind = "egress"
)

// State is where a request is in its life.
type State string

// States of a request. suggested waits for nobody; pending -> approved ->
// applying -> applied | failed; pending -> denied | expired. A canceled
// build puts an approved request back to pending.
const (
	StateSuggested State = "suggested"
	StatePending   State = "pending"
	StateApproved  State = "approved"
	StateApplying  State = "applying"
	StateApplied   State = "applied"
	StateFailed    State = "failed"
	StateDenied    State = "denied"
	StateExpired   State = "expired"
)

// Final reports whether the requester has its answer: nothing more will
// happen to the request.
func (s State) Final() bool {
	switch s {
	case StateApplied, StateFailed, StateDenied, StateExpired:
		return true
	}
	return false
}

// Open reports whether the operator may still decide the request.
func (s State) Open() bool { return s == StatePending || s == StateSuggested }

// CreateRequest is the body of POST PathRequests.
type CreateRequest struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Run lists shell commands, each becoming one RUN line (capability).
	Run []string `json:"run,omitempty"`
	// Packages lists packages for the base's package manager (capability).
	Packages []string `json:"packages,omitempty"`
	// Hosts lists host or host:port (egress).
	Hosts  []string `json:"hosts,omitempty"`
	Reason string   `json:"reason"`
	// WaitSeconds is how long the requester waits in all; once it passes
	// with no decision, the host marks the request expired. 0 means
	// DefaultWait.
	WaitSeconds int `json:"wait_seconds,omitempty"`
}

// Edits says what the operator changed before approving.
type Edits struct {
	// Run and Packages are the instructions as approved, replacing the
	// requested ones.
	Run      []string `json:"run,omitempty"`
	Packages []string `json:"packages,omitempty"`
	// Summary says in one sentence what changed.
	Summary string `json:"summary"`
}

// Request is a request as the bottle sees it.
type Request struct {
	ID         string    `json:"id"`
	Kind       Kind      `json:"kind"`
	State      State     `json:"state"`
	Name       string    `json:"name"`
	Run        []string  `json:"run,omitempty"`
	Packages   []string  `json:"packages,omitempty"`
	Hosts      []string  `json:"hosts,omitempty"`
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	Deadline   time.Time `json:"deadline,omitzero"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	DenyReason string    `json:"deny_reason,omitempty"`
	Edited     *Edits    `json:"edited,omitempty"`
	ImageID    string    `json:"image_id,omitempty"`
	// Error holds the first lines of a failed build.
	Error string `json:"error,omitempty"`
	// Next says, for the agent, what happens now.
	Next string `json:"next"`
}

// Suggestion is the body of POST PathSuggestions: a failure that looks like
// a missing capability, seen by the hook. It waits for nobody.
type Suggestion struct {
	Kind Kind `json:"kind"`
	// Name is the missing thing, like the command that was not found.
	Name string `json:"name"`
	// Hosts lists the refused host or host:port (egress).
	Hosts []string `json:"hosts,omitempty"`
	// Tool is the tool that failed, like "Bash".
	Tool string `json:"tool"`
	// Command is what the tool ran.
	Command string `json:"command"`
	// Error is the start of the failure's message.
	Error string `json:"error"`
}

// Capability is one capability the bottle's image has.
type Capability struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Reason     string    `json:"reason,omitempty"`
	ApprovedAt time.Time `json:"approved_at,omitzero"`
}

// Status is the answer to GET PathStatus.
type Status struct {
	Slug         string       `json:"slug"`
	Image        string       `json:"image"`
	Capabilities []Capability `json:"capabilities"`
	// Pending lists the requests waiting for the operator, suggestions
	// included.
	Pending []Request `json:"pending"`
}

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}
