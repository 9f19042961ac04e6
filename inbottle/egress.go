package inbottle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// EgressInput is an egress request from the agent: hosts to reach through
// the bottle's proxy.
type EgressInput struct {
	// Hosts are host or host:port; a host alone means ports 80 and 443.
	Hosts  []string
	Reason string
	// Name names the request; "" derives it from the first host.
	Name string
	// Wait is how long to wait for the decision (0: DefaultWait()).
	Wait time.Duration
}

// EgressName is the name an egress request for hosts gets: the first
// host, its port joined with '-' ("pypi.org", "example.com-8443"), so it
// follows the name rule.
func EgressName(hosts []string) string {
	if len(hosts) == 0 {
		return ""
	}
	return strings.ReplaceAll(hosts[0], ":", "-")
}

// request builds the wire request, checked.
func (in EgressInput) request() (bottleapi.CreateRequest, error) {
	if in.Wait < time.Second || in.Wait > bottleapi.MaxWait {
		return bottleapi.CreateRequest{}, fmt.Errorf("%w: wait %s: give 1s to 24h", bottleapi.ErrInvalid, in.Wait)
	}
	if err := bottleapi.ValidateHosts(in.Hosts); err != nil {
		return bottleapi.CreateRequest{}, err
	}
	name := in.Name
	if name == "" {
		name = EgressName(in.Hosts)
	}
	c := bottleapi.CreateRequest{
		Kind: bottleapi.KindEgress, Name: name, Hosts: in.Hosts, Reason: in.Reason,
		WaitSeconds: int((in.Wait + time.Second - 1) / time.Second),
	}
	return c, c.Validate()
}

// RequestEgress asks the operator to let the bottle reach hosts and waits
// for the decision. Approved, the bottle's proxy lets them through at
// once: nothing is built and nothing restarts. Bad input is refused before
// the socket is called (bottleapi.ErrInvalid).
func RequestEgress(ctx context.Context, c *Client, in EgressInput) (Outcome, error) {
	return ask(ctx, c, &in.Wait, func() (bottleapi.CreateRequest, error) { return in.request() })
}
