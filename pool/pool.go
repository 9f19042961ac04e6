// Package pool makes several builders one: each build goes to one member,
// chosen by rendezvous hashing on the content the bottles share (the base
// Dockerfile's digest), so that bottles on one base land where its layers
// already are; a batch is spread with bounded load, a member that fails
// its health check is passed over for the next in hash order, and a build
// whose member dies before it finishes is retried once on the next.
//
// The pool knows no transport: its members are driver.Builders, each
// made by its driver for one address (a BuildKit daemon, say). Every call
// of one build goes to one member, which is how BuildKit's sessions and
// client-side LLB need it.
package pool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Member is one builder of the pool.
type Member struct {
	// Name identifies the member in hashing and messages: its address.
	Name string
	// Builder builds on this member alone.
	Builder driver.Builder
}

// Options tune a Pool; zero values take the defaults.
type Options struct {
	// LoadFactor bounds a member's share of a batch; default
	// DefaultLoadFactor.
	LoadFactor float64
	// HealthTimeout bounds each member's health check; default 5 s.
	HealthTimeout time.Duration
	// HealthTTL is how long a health check's answer is trusted; default
	// 10 s, so a batch checks each member once, not once a build.
	HealthTTL time.Duration
	// Cache is the shared registry cache's repository, or "": a lone
	// build (Build) then imports its base's cache (CacheRef). A batch
	// adds its own imports and exports before BuildOn.
	Cache string
}

// Pool is a driver.Builder over several members. It is safe for
// concurrent use.
type Pool struct {
	members []Member
	names   []string
	opts    Options

	mu     sync.Mutex
	health map[string]checked
}

type checked struct {
	err error
	at  time.Time
}

var (
	_ driver.Builder = (*Pool)(nil)
	_ driver.Closer  = (*Pool)(nil)
)

// New makes a pool of members, which must have distinct, non-empty names.
func New(members []Member, o Options) (*Pool, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("%w: a builder pool needs at least one member", driver.ErrInvalidRequest)
	}
	seen := map[string]bool{}
	names := make([]string, len(members))
	for i, m := range members {
		if m.Name == "" || m.Builder == nil {
			return nil, fmt.Errorf("%w: pool member %d has no name or no builder", driver.ErrInvalidRequest, i+1)
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("%w: %q is in the builder pool twice; list each daemon once", driver.ErrInvalidRequest, m.Name)
		}
		seen[m.Name] = true
		names[i] = m.Name
	}
	if o.LoadFactor == 0 {
		o.LoadFactor = DefaultLoadFactor
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 5 * time.Second
	}
	if o.HealthTTL <= 0 {
		o.HealthTTL = 10 * time.Second
	}
	return &Pool{members: members, names: names, opts: o, health: map[string]checked{}}, nil
}

// Members returns the members' names in the order configured.
func (p *Pool) Members() []string { return append([]string(nil), p.names...) }

// Health checks every member at once (trusting an answer younger than
// HealthTTL) and returns the error of each that failed, by name.
func (p *Pool) Health(ctx context.Context) map[string]error {
	down := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range p.members {
		wg.Go(func() {
			if err := p.check(ctx, m); err != nil {
				mu.Lock()
				down[m.Name] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return down
}

// check runs member m's health check, or returns its recent answer.
func (p *Pool) check(ctx context.Context, m Member) error {
	p.mu.Lock()
	c, ok := p.health[m.Name]
	p.mu.Unlock()
	if ok && time.Since(c.at) < p.opts.HealthTTL {
		return c.err
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.HealthTimeout)
	defer cancel()
	err := m.Builder.Check(cctx)
	if ctx.Err() != nil {
		return err // our caller gave up: not the member's fault, not remembered
	}
	p.mu.Lock()
	p.health[m.Name] = checked{err: err, at: time.Now()}
	p.mu.Unlock()
	return err
}

// markDown records that member name failed during a build, so the next
// placements pass it over until its next health check.
func (p *Pool) markDown(name string, err error) {
	p.mu.Lock()
	p.health[name] = checked{err: err, at: time.Now()}
	p.mu.Unlock()
}

// knownDown is the error of member name's last health check or build, if
// it failed within HealthTTL.
func (p *Pool) knownDown(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.health[name]; ok && c.err != nil && time.Since(c.at) < p.opts.HealthTTL {
		return c.err
	}
	return nil
}

// Place checks the members' health and assigns each key of a batch to a
// member (see the function Place).
func (p *Pool) Place(ctx context.Context, keys []string) []Placement {
	return Place(keys, p.names, p.Health(ctx), p.opts.LoadFactor)
}

// member returns the member called name.
func (p *Pool) member(name string) (Member, bool) {
	for _, m := range p.members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}

// Close closes every member that holds resources.
func (p *Pool) Close() error {
	var errs []error
	for _, m := range p.members {
		if c, ok := m.Builder.(driver.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("pool member %s: %w", m.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Endpoint names the pool for the user: "pool of 3: A, B, C".
func (p *Pool) Endpoint() string {
	return fmt.Sprintf("pool of %d: %s", len(p.names), strings.Join(p.names, ", "))
}
