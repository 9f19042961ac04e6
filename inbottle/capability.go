package inbottle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// Exit codes of `claude-bottle request capability`, documented in its help
// and the README.
const (
	ExitApproved = 0
	ExitError    = 1
	ExitBadInput = 2
	ExitDenied   = 3
	ExitTimedOut = 4
)

// WaitEnv names the environment variable that sets how long requests wait
// for a decision by default (a Go duration like "30m").
const WaitEnv = "CLAUDE_BOTTLE_REQUEST_WAIT"

// DefaultWait returns $CLAUDE_BOTTLE_REQUEST_WAIT, else
// bottleapi.DefaultWait. A bad value is an error naming it.
func DefaultWait() (time.Duration, error) {
	v := os.Getenv(WaitEnv)
	if v == "" {
		return bottleapi.DefaultWait, nil
	}
	d, err := ParseWait(v)
	if err != nil {
		return 0, fmt.Errorf("$%s: %w", WaitEnv, err)
	}
	return d, nil
}

// ParseWait reads a wait: a Go duration from 1s to bottleapi.MaxWait.
func ParseWait(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > bottleapi.MaxWait {
		return 0, fmt.Errorf("%w: wait %q: give a duration from 1s to 24h, like 30m", bottleapi.ErrInvalid, v)
	}
	return d, nil
}

// Result is how a request ended for its requester.
type Result string

// Results.
const (
	// ResultApproved: approved and built (or, when the caller stopped
	// waiting first, approved and still building).
	ResultApproved Result = "approved"
	// ResultFailed: approved, but the build failed; nothing changed.
	ResultFailed   Result = "failed"
	ResultDenied   Result = "denied"
	ResultTimedOut Result = "timed_out"
)

// Outcome is the answer to a capability request.
type Outcome struct {
	Result  Result            `json:"result"`
	Request bottleapi.Request `json:"request"`
}

// ExitCode maps the outcome to the command's exit code.
func (o Outcome) ExitCode() int {
	switch o.Result {
	case ResultApproved:
		return ExitApproved
	case ResultDenied:
		return ExitDenied
	case ResultTimedOut:
		return ExitTimedOut
	}
	return ExitError
}

// Text words the outcome for the agent: what was decided, what changed,
// and what happens next.
func (o Outcome) Text() string {
	r := o.Request
	what := fmt.Sprintf("capability %q", r.Name)
	if r.Kind == bottleapi.KindEgress {
		what = "egress to " + strings.Join(r.Hosts, ", ")
	}
	var b strings.Builder
	switch o.Result {
	case ResultApproved:
		if r.Edited != nil {
			fmt.Fprintf(&b, "Approved with edits: %s (request %s). %s\n", what, r.ID, r.Edited.Summary)
		} else {
			fmt.Fprintf(&b, "Approved: %s (request %s).\n", what, r.ID)
		}
	case ResultFailed:
		fmt.Fprintf(&b, "Approved, but applying %s (request %s) failed:\n%s\n", what, r.ID, r.Error)
	case ResultDenied:
		fmt.Fprintf(&b, "Denied: %s (request %s). The operator said: %s\n", what, r.ID, r.DenyReason)
	case ResultTimedOut:
		fmt.Fprintf(&b, "Timed out: no decision on %s (request %s) before the wait ended.\n", what, r.ID)
	}
	b.WriteString(r.Next)
	return strings.TrimSpace(b.String())
}

// CapabilityInput is a capability request from the agent.
type CapabilityInput struct {
	Name     string
	Run      []string
	Packages []string
	Reason   string
	// Wait is how long to wait for the decision (0: DefaultWait()).
	Wait time.Duration
}

// request builds the wire request, checked.
func (in CapabilityInput) request() (bottleapi.CreateRequest, error) {
	if in.Wait < time.Second || in.Wait > bottleapi.MaxWait {
		return bottleapi.CreateRequest{}, fmt.Errorf("%w: wait %s: give 1s to 24h", bottleapi.ErrInvalid, in.Wait)
	}
	c := bottleapi.CreateRequest{
		Kind: bottleapi.KindCapability, Name: in.Name, Run: in.Run, Packages: in.Packages,
		Reason: in.Reason, WaitSeconds: int((in.Wait + time.Second - 1) / time.Second),
	}
	return c, c.Validate()
}

// RequestCapability asks the operator for a capability and waits for the
// decision: until the request is applied, failed, denied or expired. Once
// approved it waits for the build past the wait (the operator said yes),
// as long as ctx lets it. Bad input is refused before the socket is
// called (bottleapi.ErrInvalid).
func RequestCapability(ctx context.Context, c *Client, in CapabilityInput) (Outcome, error) {
	return ask(ctx, c, &in.Wait, func() (bottleapi.CreateRequest, error) { return in.request() })
}

// outcome maps a request's state to its result for the requester.
func outcome(r bottleapi.Request) Outcome {
	switch r.State {
	case bottleapi.StateApplied, bottleapi.StateApproved, bottleapi.StateApplying:
		return Outcome{ResultApproved, r}
	case bottleapi.StateFailed:
		return Outcome{ResultFailed, r}
	case bottleapi.StateDenied:
		return Outcome{ResultDenied, r}
	}
	return Outcome{ResultTimedOut, r}
}

// pollEvery bounds one long poll, so a lost connection is noticed and a
// dead host is not waited on forever.
const pollEvery = time.Minute

// WaitDecision long-polls the request until it has its final answer (a
// suggestion, which waits for nobody, is returned as it is). The
// host expires it at its deadline; a few connection failures in a row
// (the host restarting) are retried, then given up. If ctx ends first the
// request is returned as last seen with ctx's error.
func WaitDecision(ctx context.Context, c *Client, r bottleapi.Request) (bottleapi.Request, error) {
	failures := 0
	for !r.State.Final() && r.State != bottleapi.StateSuggested {
		wait := pollEvery
		if r.State == bottleapi.StatePending && !r.Deadline.IsZero() {
			// Ask past the deadline so the host, not this clock, expires it.
			wait = min(wait, time.Until(r.Deadline)+time.Second)
		}
		next, err := c.Get(ctx, r.ID, max(wait, time.Second))
		switch {
		case err == nil:
			r, failures = next, 0
		case ctx.Err() != nil:
			return r, context.Cause(ctx)
		case errors.Is(err, ErrUnreachable) && failures < 5:
			failures++
			select {
			case <-ctx.Done():
				return r, context.Cause(ctx)
			case <-time.After(time.Second):
			}
		default:
			return r, err
		}
	}
	return r, nil
}

// Wait waits up to wait for the decision on one of this bottle's
// requests. A request still undecided when the wait ends is
// ResultTimedOut for this waiter (on the host it stays pending until its
// own deadline). An ID the bottle does not have is an APIError 404.
func Wait(ctx context.Context, c *Client, id string, wait time.Duration) (Outcome, error) {
	if err := bottleapi.ValidateID(id); err != nil {
		return Outcome{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	r, err := c.Get(ctx, id, 0)
	if err != nil {
		return Outcome{}, err
	}
	r, err = WaitDecision(ctx, c, r)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return Outcome{Request: r}, err
	}
	return outcome(r), nil
}

// ask is the one way both kinds of request go: the default wait filled
// in, the request made (and checked) by request, created on the socket,
// then its decision waited for. A wait cut short is an outcome, not an
// error of the socket.
func ask(ctx context.Context, c *Client, wait *time.Duration, request func() (bottleapi.CreateRequest, error)) (Outcome, error) {
	if *wait == 0 {
		w, err := DefaultWait()
		if err != nil {
			return Outcome{}, err
		}
		*wait = w
	}
	req, err := request()
	if err != nil {
		return Outcome{}, err
	}
	r, err := c.Create(ctx, req)
	if err != nil {
		return Outcome{}, err
	}
	r, err = WaitDecision(ctx, c, r)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return Outcome{Request: r}, err
	}
	return outcome(r), err
}
