package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/pool"
)

// poolDriver is the driver a pool's members run: BuildKit, one daemon a
// member.
const poolDriver = "buildkit"

// poolSource is a driverSource for a BuildKit pool: "buildkit" opens one
// buildkit driver a member (each a source of its own, made with that
// member's address and TLS) as one pool.Pool; other names go to base.
type poolSource struct {
	base    driverSource
	members []driverSource
	names   []string
	from    string
	cache   string
}

// newPoolSource makes the sources of s's pool with mk, which makes a
// source for one driver config.
func newPoolSource(s config.Settings, mk func(driver.Config) (driverSource, error)) (*poolSource, error) {
	base, err := mk(s.DriverConfig)
	if err != nil {
		return nil, err
	}
	p := &poolSource{base: base, from: s.PoolFrom, cache: s.Cache}
	for _, m := range s.Pool {
		src, err := mk(s.MemberConfig(m))
		if err != nil {
			p.Close()
			return nil, err
		}
		p.members = append(p.members, src)
		p.names = append(p.names, m.Addr)
	}
	return p, nil
}

// Open opens the pool for "buildkit", any other driver from base.
func (p *poolSource) Open(ctx context.Context, name string) (driver.Builder, error) {
	if name != poolDriver {
		return p.base.Open(ctx, name)
	}
	ms := make([]pool.Member, len(p.members))
	for i, src := range p.members {
		b, err := src.Open(ctx, poolDriver)
		if err != nil {
			return nil, fmt.Errorf("pool member %s: %w", p.names[i], err)
		}
		ms[i] = pool.Member{Name: p.names[i], Builder: b}
	}
	return pool.New(ms, pool.Options{Cache: p.cache})
}

// Default is the pool when a member is healthy: a pool named in the
// config or on the command line is the user's choice of builder.
func (p *poolSource) Default(ctx context.Context) (string, string, error) {
	b, err := p.Open(ctx, poolDriver)
	if err != nil {
		return "", "", err
	}
	if err := b.Check(ctx); err != nil {
		return "", "", fmt.Errorf("the BuildKit pool named by %s: %w", p.from, err)
	}
	return poolDriver, fmt.Sprintf("a pool of %d BuildKit daemons, named by %s", len(p.members), p.from), nil
}

// Close closes every member's source and base.
func (p *poolSource) Close() error {
	errs := []error{p.base.Close()}
	for _, m := range p.members {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}
