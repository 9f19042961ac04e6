package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/progress"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	dockerclient "github.com/moby/moby/client"
	"github.com/tonistiigi/fsutil"
)

// product names the client-side frontend to the daemon.
const product = "claude-bottle"

// deadGrace is how long Build waits for the solve to unwind once the
// daemon is found dead, before returning without it.
const deadGrace = time.Second

// Build converts req's Dockerfile to LLB in this process with BuildKit's
// Dockerfile builder, solves it on the endpoint and exports the image (into
// the Docker engine by default), sending progress to sink.
func (b *Builder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	start := time.Now()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := driver.CheckExposure(b.cfg, req); err != nil {
		return nil, err
	}
	bk, docker, err := b.clients(ctx)
	if err != nil {
		return nil, err
	}
	ld := &loader{ctx: ctx, docker: docker}
	opt, plan, err := b.solveOpt(req, ld)
	if err != nil {
		return nil, err
	}
	pump := newPump(sink)
	resp, err := b.solve(ctx, bk, opt, pump)
	if err != nil {
		if lerr := ld.failure(); lerr != nil && ctx.Err() == nil && !daemonGone(err) {
			// The export failed because the engine's load did: say that,
			// not the daemon's "read/write on closed pipe". A daemon that
			// died mid-export breaks the load too, but is the cause (and
			// what a builder pool fails over on).
			return nil, lerr
		}
		return nil, b.classify(ctx, err, req, pump)
	}
	res := &driver.Result{Steps: pump.counter.Count(), Metadata: resp.ExporterResponse}
	if err := b.finish(ctx, docker, req, plan, res); err != nil {
		return nil, driver.Canceled(ctx, err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// solveOpt assembles the solve: local mounts, frontend options, cache,
// session services and exporters.
func (b *Builder) solveOpt(req driver.Request, ld *loader) (client.SolveOpt, exportPlan, error) {
	var opt client.SolveOpt
	plan, err := planExports(req, b.ep, ld)
	if err != nil {
		return opt, plan, err
	}
	if opt.CacheImports, err = cacheEntries(req.CacheFrom, "cache-from", b.ep); err != nil {
		return opt, plan, err
	}
	if opt.CacheExports, err = cacheEntries(req.CacheTo, "cache-to", b.ep); err != nil {
		return opt, plan, err
	}
	if opt.Session, err = attachables(req, b.cfg.Cleartext(os.Getenv) == ""); err != nil {
		return opt, plan, err
	}
	ctxDir, err := filepath.Abs(req.ContextDir)
	if err != nil {
		return opt, plan, fmt.Errorf("%w: build context %q: %w", driver.ErrInvalidRequest, req.ContextDir, err)
	}
	dfDir, _ := req.DockerfileDir()
	ctxFS, err := fsutil.NewFS(ctxDir)
	if err != nil {
		return opt, plan, fmt.Errorf("%w: build context %q: %w", driver.ErrInvalidRequest, ctxDir, err)
	}
	dfFS, err := fsutil.NewFS(dfDir)
	if err != nil {
		return opt, plan, fmt.Errorf("%w: Dockerfile folder %q: %w", driver.ErrInvalidDockerfile, dfDir, err)
	}
	// The .dockerignore at the context root and <Dockerfile>.dockerignore
	// beside the Dockerfile are read by the frontend from these mounts.
	opt.LocalMounts = map[string]fsutil.FS{"context": ctxFS, "dockerfile": dfFS}
	opt.FrontendAttrs = frontendAttrs(req)
	opt.Exports = plan.entries
	// A key stable per context folder lets buildkitd send only what changed
	// since the last build of the same folder.
	sum := sha256.Sum256([]byte(ctxDir))
	opt.SharedKey = "claude-bottle-" + hex.EncodeToString(sum[:8])
	return opt, plan, nil
}

// solve runs the build while watching the daemon. When the daemon stops
// answering it returns soon after, without waiting for BuildKit's client to
// give up on its streams.
func (b *Builder) solve(ctx context.Context, bk *client.Client, opt client.SolveOpt, pump *pump) (*client.SolveResponse, error) {
	solveCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	dead := watchDaemon(solveCtx, bk, cancel)
	ch := make(chan *client.SolveStatus)
	go pump.run(ch)
	type result struct {
		resp *client.SolveResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := bk.Build(solveCtx, opt, product, pump.frontend, ch)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		pump.wait()
		return r.resp, r.err
	case <-dead:
	}
	select {
	case r := <-done:
		pump.wait()
		if r.err == nil {
			return r.resp, nil
		}
	case <-time.After(deadGrace):
		pump.stop()
	}
	return nil, context.Cause(solveCtx)
}

// finish tags the image in the engine and fills in the result.
func (b *Builder) finish(ctx context.Context, docker *dockerclient.Client, req driver.Request, plan exportPlan, res *driver.Result) error {
	md := res.Metadata
	res.ImageID = md[exptypes.ExporterImageConfigDigestKey]
	if plan.load != nil && res.ImageID == "" {
		res.ImageID, _ = plan.load.result()
	}
	if plan.engineStore {
		// The engine's moby exporter reports only the image ID, as the
		// digest; there is no manifest until the image is pushed.
		if res.ImageID == "" {
			res.ImageID = md[exptypes.ExporterImageDigestKey]
		}
	} else if plan.digest {
		res.Digest = md[exptypes.ExporterImageDigestKey]
	}
	if plan.load == nil && !plan.engineStore {
		res.Tags = req.Tags
		return nil
	}
	if plan.load != nil {
		// A loaded archive names its tags, but an image the engine already
		// had was not sent: tag it here, which is idempotent either way.
		for _, tag := range req.Tags {
			if _, err := docker.ImageTag(ctx, dockerclient.ImageTagOptions{Source: res.ImageID, Target: tag}); err != nil {
				return fmt.Errorf("tag image %s as %q in the Docker engine: %w", res.ImageID, tag, err)
			}
		}
	}
	res.Tags = req.Tags
	return nil
}

// pump forwards a build's progress to its sink, counting steps and
// remembering step names for error messages. After stop, nothing more
// reaches the sink.
type pump struct {
	counter *driver.StepCounter
	done    chan struct{}

	mu      sync.Mutex
	stopped bool
	names   map[string]string
	failed  []string // names of steps that reported an error
	feErr   error    // the Dockerfile frontend's own error
}

func newPump(sink driver.Sink) *pump {
	if sink == nil {
		sink = driver.Discard
	}
	return &pump{counter: &driver.StepCounter{Next: sink}, done: make(chan struct{}), names: map[string]string{}}
}

func (p *pump) run(ch <-chan *client.SolveStatus) {
	defer close(p.done)
	for s := range ch {
		ev := progress.FromSolveStatus(s)
		p.mu.Lock()
		for _, v := range ev.Vertexes {
			if v.Name != "" {
				p.names[v.Digest] = v.Name
			}
			if v.Error != "" && !strings.Contains(v.Error, context.Canceled.Error()) {
				p.failed = append(p.failed, v.Name)
			}
		}
		if !p.stopped {
			// Sent under the lock so stop cannot return while an event is
			// on its way to the sink.
			p.counter.Send(ev)
		}
		p.mu.Unlock()
	}
}

func (p *pump) wait() { <-p.done }

// frontend runs BuildKit's Dockerfile builder in this process and keeps
// its error: that error has its types (the Dockerfile line of a parse
// error), which an older daemon loses when it hands the error back.
func (p *pump) frontend(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
	res, err := dockerfile.Build(ctx, c)
	if err != nil {
		p.mu.Lock()
		p.feErr = err
		p.mu.Unlock()
	}
	return res, err
}

// frontendErr is the frontend's own error, if it failed.
func (p *pump) frontendErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.feErr
}

// failedStep is the name of the first step that reported an error.
func (p *pump) failedStep() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.failed) == 0 {
		return ""
	}
	return p.failed[0]
}

func (p *pump) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

func (p *pump) name(dgst string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.names[dgst]
}
