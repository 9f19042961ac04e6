package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/claude-bottle/claude-bottle/driver"
	_ "github.com/claude-bottle/claude-bottle/driver/builtin" // registers the built-in drivers
	"github.com/claude-bottle/claude-bottle/plugins"
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

// Default picks the default among the built-ins by plugins.ChooseDefault,
// the rule the plugin manager applies. It checks them in priority order
// and stops at the first that can build, so the drivers below it are never
// made.
func (p *inProcess) Default(ctx context.Context) (string, string, error) {
	var probes []plugins.Probe
	for _, f := range driver.Factories() {
		prio := f.Priority
		pr := plugins.Probe{Descriptor: plugins.Descriptor{
			Name: f.Name, Source: plugins.SourceBuiltin, BuiltIn: true, Verified: true, Priority: &prio, Usage: f.Usage,
		}}
		var b driver.Builder
		if b, pr.Err = p.Open(ctx, f.Name); pr.Err == nil {
			pr.CheckErr = b.Check(ctx)
		}
		probes = append(probes, pr)
		if pr.Ready() {
			break
		}
	}
	return plugins.ChooseDefault(probes, p.cfg.Log())
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
