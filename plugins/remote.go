package plugins

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/driver"
)

// remote is the driver.Builder that Manager.Open returns: each call goes to
// the driver's current process, started (or restarted after a crash) on
// demand.
type remote struct {
	m *Manager
	d Descriptor
}

var _ driver.Builder = (*remote)(nil)

// Info describes the driver.
func (r *remote) Info(ctx context.Context) (driver.Info, error) {
	return call(ctx, r, func(ctx context.Context, i *instance) (driver.Info, error) {
		return i.rpc.Info(ctx)
	})
}

// Check reports whether the driver can build here now.
func (r *remote) Check(ctx context.Context) error {
	_, err := call(ctx, r, func(ctx context.Context, i *instance) (struct{}, error) {
		return struct{}{}, i.rpc.Check(ctx)
	})
	return err
}

// Build runs one build in the driver's process; progress reaches sink
// before Build returns. If the build fails, the tags it was to set in the
// Docker engine are left (or put back) where they were, even if the driver
// had moved them before it failed or crashed.
func (r *remote) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if err := driver.CheckExposure(r.m.opts.Config, req); err != nil {
		return nil, err // checked here too: a third-party plugin may not
	}
	req = withSSHDefault(req)
	g := newTagGuard(ctx, r.m.tagEngine(), r.m.log.With("driver", r.d.Name), req)
	bctx, cancel := context.WithTimeout(ctx, r.m.opts.BuildTimeout)
	defer cancel()
	res, err := call(bctx, r, func(ctx context.Context, i *instance) (*driver.Result, error) {
		return i.rpc.Build(ctx, req, sink)
	})
	if err != nil && ctx.Err() == nil && bctx.Err() != nil {
		if inst := r.m.current(r.d.Name); inst != nil {
			r.m.retire(r.d, inst) // it may be stuck: the next build starts afresh
		}
		err = fmt.Errorf("%w: driver %q did not finish the build within %s; it was stopped", driver.ErrBuildFailed, r.d.Name, r.m.opts.BuildTimeout)
	}
	if err != nil {
		return nil, g.restore(err)
	}
	return res, nil
}

// call runs f against the driver's live instance and classifies its
// error; a broken instance is retired so the next call starts afresh.
func call[T any](ctx context.Context, r *remote, f func(context.Context, *instance) (T, error)) (T, error) {
	var zero T
	inst, err := r.m.instance(ctx, r.d)
	if err != nil {
		return zero, err
	}
	v, err := f(ctx, inst)
	if err == nil {
		return v, nil
	}
	out, broken := inst.callError(ctx, err)
	if broken {
		r.m.retire(r.d, inst)
	}
	return zero, out
}
