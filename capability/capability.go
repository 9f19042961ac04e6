package capability

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// Kind says what a capability adds to a bottle.
type Kind string

// Kinds of capability.
const (
	// KindLayer is Dockerfile instructions added to the bottle's image.
	KindLayer Kind = "layer"
	// KindEgress is a network destination the bottle may reach; it is
	// kept in the list but adds nothing to the image (the containment
	// work enforces it).
	KindEgress Kind = "egress"
)

// Where a capability came from (Source.Kind).
const (
	SourceOperator = "operator"
	SourceRequest  = "request"
)

// DefaultUser is the user a layer's instructions run as when none is
// given.
const DefaultUser = "root"

// Capability is one approved addition to a bottle.
type Capability struct {
	// Name identifies the capability in its bottle; it follows the slug
	// rule.
	Name string `json:"name"`
	// Kind is KindLayer, or KindEgress.
	Kind Kind `json:"kind"`
	// Instructions are Dockerfile instructions for a layer (RUN, ENV, COPY
	// from the repo...), or the host[:port] list of an egress capability.
	Instructions string `json:"instructions"`
	// User is the user a layer's instructions run as (default root); the
	// base's final user is restored after them.
	User string `json:"user"`
	// Reason says why the bottle needs it.
	Reason string `json:"reason,omitempty"`
	// ApprovedBy and ApprovedAt say who approved it and when.
	ApprovedBy string    `json:"approved_by"`
	ApprovedAt time.Time `json:"approved_at"`
	// Source says where it came from.
	Source Source `json:"source"`
}

// Source is where a capability came from: the operator, or a request
// from the bottle (with its ID).
type Source struct {
	Kind      string `json:"kind"`
	RequestID string `json:"request_id,omitempty"`
}

// Error classes. Each is bad input (exit 2 in the CLI) except a failed
// build, which is a *BuildError.
var (
	// ErrInvalid classes a capability that cannot be accepted: a bad
	// name, user or reason, instructions that do not parse, a FROM.
	ErrInvalid = errors.New("invalid capability")
	// ErrExists classes an add whose name the bottle already has.
	ErrExists = errors.New("capability already exists")
	// ErrNotFound classes a remove of a name the bottle does not have.
	ErrNotFound = errors.New("no such capability")
	// ErrNoCapabilities classes a rebase of a bottle with no capabilities.
	ErrNoCapabilities = errors.New("bottle has no capabilities")
	// ErrNothingToRollBack classes a rollback with no earlier state.
	ErrNothingToRollBack = errors.New("nothing to roll back")
	// ErrUnknownPackageManager classes --package on a base whose package
	// manager cannot be told.
	ErrUnknownPackageManager = errors.New("unknown package manager")
)

// nameRule is said in every name error so the user knows what to type.
const nameRule = `a capability name follows the slug rule: lowercase letters and digits, joined by single '.' or '_', double '__' or runs of '-', at most 128 characters, like "jq"`

// ValidateName checks a capability name: the same rule as a bottle slug.
func ValidateName(name string) error {
	if err := state.ValidateSlug(name); err != nil {
		return fmt.Errorf("%w: name %q: %s", ErrInvalid, truncate(name, 40), nameRule)
	}
	return nil
}

// userPattern is a user name or uid, with an optional group or gid, as
// USER takes it; nothing that could end the line or start another
// instruction.
var userPattern = regexp.MustCompile(`^(?:[a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10})(?::(?:[a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10}))?$`)

// ValidateUser checks a capability's user.
func ValidateUser(user string) error {
	if !userPattern.MatchString(user) {
		return fmt.Errorf("%w: user %q: want a user name or uid, optionally :group or :gid, like \"root\" or \"1000:1000\"", ErrInvalid, truncate(user, 40))
	}
	return nil
}

// MaxReason bounds a reason: it becomes a comment line in the override.
const MaxReason = 500

// ValidateReason checks a reason: one line of text, no control characters.
func ValidateReason(reason string) error {
	switch {
	case len(reason) > MaxReason:
		return fmt.Errorf("%w: the reason is %d bytes, more than %d; say it in one line", ErrInvalid, len(reason), MaxReason)
	case strings.ContainsFunc(reason, isControl):
		return fmt.Errorf("%w: the reason holds a line break or control character; say it in one line", ErrInvalid)
	}
	return nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085'
}

// Validate checks every field of c that can be checked without the base:
// name, kind, user, reason, source, and for a layer that its instructions
// parse and hold no FROM.
func (c *Capability) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	switch c.Kind {
	case KindLayer:
		if err := ValidateUser(c.User); err != nil {
			return fmt.Errorf("capability %q: %w", c.Name, err)
		}
		if _, err := checkInstructions(c.Name, c.Instructions); err != nil {
			return err
		}
	case KindEgress:
		if strings.TrimSpace(c.Instructions) == "" || strings.ContainsFunc(c.Instructions, isControl) {
			return fmt.Errorf("%w: egress capability %q: want a host or host:port list on one line", ErrInvalid, c.Name)
		}
	default:
		return fmt.Errorf("%w: capability %q has kind %q; want %q (or %q)", ErrInvalid, c.Name, c.Kind, KindLayer, KindEgress)
	}
	if err := ValidateReason(c.Reason); err != nil {
		return fmt.Errorf("capability %q: %w", c.Name, err)
	}
	if strings.ContainsFunc(c.ApprovedBy, isControl) || len(c.ApprovedBy) > 128 {
		return fmt.Errorf("%w: capability %q: approver %q is not a plain name", ErrInvalid, c.Name, truncate(c.ApprovedBy, 40))
	}
	switch {
	case c.Source.Kind == SourceOperator && c.Source.RequestID == "":
	case c.Source.Kind == SourceRequest && requestIDPattern.MatchString(c.Source.RequestID):
	default:
		return fmt.Errorf("%w: capability %q: source %q with request %q; want %q, or %q with a request ID like rq-0123456789", ErrInvalid, c.Name, c.Source.Kind, truncate(c.Source.RequestID, 40), SourceOperator, SourceRequest)
	}
	return nil
}

// requestIDPattern is a request ID as the request package makes them.
var requestIDPattern = regexp.MustCompile(`^rq-[0-9a-f]{10}$`)

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
