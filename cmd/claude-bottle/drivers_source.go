package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
	_ "github.com/claude-bottle/claude-bottle/driver/builtin" // registers the built-in drivers
)

// driverSource opens drivers by name and picks the default. The plugin
// manager is the real one (every driver a subprocess); inProcess calls the
// built-in factories directly, for benchmarks and debugging.
type driverSource interface {
	Open(ctx context.Context, name string) (driver.Builder, error)
	Default(ctx context.Context) (name, why string, err error)
	Close() error
}

// inProcess is a driverSource over the built-in factories in this process.
type inProcess struct {
	cfg  driver.Config
	mu   sync.Mutex
	open map[string]driver.Builder
}

func newInProcess(cfg driver.Config) *inProcess {
	return &inProcess{cfg: cfg, open: map[string]driver.Builder{}}
}

// Open returns the built-in driver name, made once.
func (p *inProcess) Open(ctx context.Context, name string) (driver.Builder, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b, ok := p.open[name]; ok {
		return b, nil
	}
	f, err := driver.Lookup(name)
	if err != nil {
		return nil, err
	}
	b, err := f.New(ctx, p.cfg)
	if err != nil {
		return nil, fmt.Errorf("driver %q: %w", name, err)
	}
	p.open[name] = b
	return b, nil
}

// Default returns the highest-priority built-in whose Check passes.
func (p *inProcess) Default(ctx context.Context) (string, string, error) {
	var (
		errs    []error
		skipped []string
	)
	for _, f := range driver.Factories() {
		b, err := p.Open(ctx, f.Name)
		if err == nil {
			err = b.Check(ctx)
		}
		if err == nil {
			why := "default: highest priority that can build here"
			if len(skipped) > 0 {
				why += "; passed over " + strings.Join(skipped, ", ")
			}
			return f.Name, why, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
		skipped = append(skipped, f.Name)
	}
	return "", "", fmt.Errorf("%w: no driver can build here: %v", driver.ErrDaemonUnreachable, errors.Join(errs...))
}

// Close closes every driver opened.
func (p *inProcess) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, b := range p.open {
		if c, ok := b.(driver.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
