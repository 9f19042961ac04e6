package batch

import (
	"context"
	"sync"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// Builder returns a driver.Builder for plan's image alone (as launch
// builds it) that skips the build when the image is up to date, as Build
// does for a batch, and records each build it lets through. The driver is
// opened by open only when something needs it, so an up-to-date launch
// never starts one. A nil UpToDate still opens lazily but never skips.
func (u *UpToDate) Builder(plan *bottle.Plan, driverName string, open func(context.Context) (driver.Builder, error)) driver.Builder {
	return &freshBuilder{u: u, plan: plan, driver: driverName, open: open}
}

type freshBuilder struct {
	u      *UpToDate
	plan   *bottle.Plan
	driver string
	open   func(context.Context) (driver.Builder, error)

	once  sync.Once
	inner driver.Builder
	err   error
}

func (f *freshBuilder) builder(ctx context.Context) (driver.Builder, error) {
	f.once.Do(func() { f.inner, f.err = f.open(ctx) })
	return f.inner, f.err
}

// Info opens the driver and asks it.
func (f *freshBuilder) Info(ctx context.Context) (driver.Info, error) {
	b, err := f.builder(ctx)
	if err != nil {
		return driver.Info{}, err
	}
	return b.Info(ctx)
}

// Check opens the driver and asks it.
func (f *freshBuilder) Check(ctx context.Context) error {
	b, err := f.builder(ctx)
	if err != nil {
		return err
	}
	return b.Check(ctx)
}

// Build reports the recorded image when req is the plan's and up to
// date; else it builds through the driver and records the build.
func (f *freshBuilder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if sink == nil {
		sink = driver.Discard
	}
	j := &job{plan: f.plan, req: req, slugs: []string{f.plan.Slug}}
	plans := map[string]*bottle.Plan{f.plan.Slug: f.plan}
	if len(req.Tags) == 1 && req.Tags[0] == f.plan.Image {
		f.u.check(ctx, []*bottle.Plan{f.plan}, []*job{j}, f.driver)
	}
	if j.fresh != nil && j.fresh.skip {
		upToDate(j, Options{Driver: f.driver}, sink)
		return &driver.Result{ImageID: j.fresh.rec.ImageID, Tags: req.Tags}, nil
	}
	b, err := f.builder(ctx)
	if err != nil {
		return nil, err
	}
	res, err := b.Build(ctx, req, sink)
	if err != nil {
		return nil, err
	}
	if req.Loads() {
		// The image is built either way; without a record the next
		// launch builds again (a cached solve), which is all it costs.
		_ = f.u.record(ctx, j, plans, res)
	}
	return res, nil
}
