package pool

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Info describes the pool as its first answering member describes
// itself, with the features every answering member has and the pool's
// members as its endpoint. A member that cannot answer (its daemon is
// down, its address is wrong) is left out, as a batch would pass it
// over; Info fails only when no member answers.
func (p *Pool) Info(ctx context.Context) (driver.Info, error) {
	var info driver.Info
	var errs []error
	for _, m := range p.members {
		mi, err := m.Builder.Info(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("pool member %s: %w", m.Name, err))
			continue
		}
		if info.Name == "" {
			info = mi
			info.Features = maps.Clone(mi.Features)
			info.Notes = slices.Clone(mi.Notes)
			continue
		}
		for f := range info.Features {
			info.Features[f] = info.Features[f] && mi.Features[f]
		}
	}
	if info.Name == "" && len(errs) > 0 {
		return driver.Info{}, errors.Join(errs...)
	}
	info.Endpoint = p.Endpoint()
	info.Notes = append(info.Notes, "each build goes to one member by rendezvous hashing on its base Dockerfile's digest, at most "+
		fmt.Sprintf("%.3gx", p.opts.LoadFactor)+" a member's share of a batch; a member that dies mid-build has its build retried once on the next")
	return info, nil
}

// Check passes when at least one member passes its health check; its
// error names every member that failed and why, and unwraps to each
// member's error, so that errors.Is finds their classes (a member's bad
// address is bad input; a daemon that does not answer is unreachable).
func (p *Pool) Check(ctx context.Context) error {
	down := p.Health(ctx)
	if len(down) < len(p.members) {
		return nil
	}
	var lines []string
	var errs []error
	for _, n := range p.names {
		lines = append(lines, fmt.Sprintf("%s: %v", n, down[n]))
		errs = append(errs, down[n])
	}
	return &allDown{msg: "no member of the builder pool is healthy: " + strings.Join(lines, "; "), errs: errs}
}

// allDown is Check's error: every member's, in one message.
type allDown struct {
	msg  string
	errs []error
}

func (e *allDown) Error() string   { return e.msg }
func (e *allDown) Unwrap() []error { return e.errs }
