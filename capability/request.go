package capability

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/request"
)

// RequestApplier applies approved requests (it is the request.Applier
// that request.Store.Approve builds through): a capability request
// becomes a layer capability (its run commands as RUN lines, or its
// packages installed with the base's package manager), an egress request
// an egress capability, and either is added with Add, so it is built,
// then swapped in, and audited with the request's ID. The CLI's `request
// approve` and the dashboard approve through it.
type RequestApplier struct {
	// Options are what every change is applied with (Store, Builder,
	// Engine, Sink, Request, User); their Plan is replaced by Plan's.
	Options Options
	// Plan returns the plan of the request's bottle (bottle.Resolve with
	// the caller's repo).
	Plan func(slug string) (*bottle.Plan, error)
	// Sink, when set, returns where the build of a request of bottle slug
	// sends its progress, in place of Options.Sink.
	Sink func(slug string) driver.Sink
}

// Apply adds the approved request to its bottle as a capability: built,
// then swapped in.
func (a RequestApplier) Apply(ctx context.Context, in request.ApplyInput) (request.ApplyResult, error) {
	if a.Plan == nil {
		return request.ApplyResult{}, errors.New("capability: RequestApplier needs a Plan function")
	}
	p, err := a.Plan(in.Slug)
	if err != nil {
		return request.ApplyResult{}, err
	}
	o := a.Options
	o.Plan = p
	if a.Sink != nil {
		o.Sink = a.Sink(in.Slug)
	}
	c, err := requestCapability(o, in)
	if err != nil {
		return request.ApplyResult{}, err
	}
	res, err := Add(ctx, o, c)
	if err != nil {
		return request.ApplyResult{}, err
	}
	return request.ApplyResult{ImageID: res.ImageAfter}, nil
}

// requestCapability is the capability an approved request adds: Compose
// of its commands, packages or hosts, from that request.
func requestCapability(o Options, in request.ApplyInput) (Capability, error) {
	spec := Spec{Run: in.Run, Packages: in.Packages}
	if in.Kind == bottleapi.KindEgress {
		spec = Spec{Hosts: in.Hosts}
	}
	c, err := Compose(o.Store, o.Plan, in.Name, spec)
	if err != nil {
		return c, err
	}
	c.Reason = clip(in.Reason, MaxReason)
	c.ApprovedBy, c.ApprovedAt = in.ApprovedBy, in.ApprovedAt.UTC().Round(time.Second)
	c.Source = Source{Kind: SourceRequest, RequestID: in.RequestID}
	return c, nil
}

// clip cuts s to at most n bytes, dropping a rune cut in two: a
// requester's reason may be longer than a capability's.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
