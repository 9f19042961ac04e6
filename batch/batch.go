// Package batch builds many bottles' images at once, as `claude-bottle
// build` does for CI: each distinct build is run once however many
// bottles it serves, up to a number of builds run in parallel, and every
// bottle gets an outcome whether its build passed or failed.
//
// Check refuses a batch that cannot go well before anything is built: a
// bad Dockerfile, a push with no registry name, two bottles writing to one
// destination, a missing cache folder, a request the driver cannot honour.
// Options may say {slug} (SlugPlaceholder) in an output's or a cache's
// destination, so that each bottle gets its own.
package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/pool"
)

// Options say how to run a batch.
type Options struct {
	// Jobs is how many builds run at once; below 1 means 1.
	Jobs int
	// Builder builds every image; Driver is its name, for the outcomes.
	Builder driver.Builder
	Driver  string
	// Request holds the build options every bottle's build gets (build
	// args, cache, outputs, push, ...), where {slug} in a destination
	// stands for each bottle's slug; each bottle's plan says what is built
	// and as which local tag (bottle.Plan.RequestWith).
	Request driver.Request
	// PushName is the push name template (bottle.PushName). With
	// Request.Push each bottle's image is pushed as the name it renders to,
	// and only as that name; Push without one is refused.
	PushName string
	// Bottles are the settings of bottles of their own (a bottles file's):
	// each goes under Request for its bottle, and its PushName over the
	// batch's.
	Bottles map[string]Settings
	// Sink returns where a build's progress goes; label names the build
	// (the slugs it serves). Nil discards progress.
	Sink func(label string) driver.Sink
	// User is who builds, for the record BuildHeld keeps; empty means
	// capability.CurrentUser().
	User string
	// Cache is the shared registry cache's repository ([buildkit] cache):
	// every build imports its base's and its bottle's cache from it; with
	// CacheExport each build also exports its own (mode=max). Empty means
	// no shared cache.
	Cache       string
	CacheExport bool
	// UpToDate, when not nil, skips the builds of bottles whose image is
	// up to date (see UpToDate); nil builds every bottle.
	UpToDate *UpToDate
}

// job is one distinct build and the bottles it serves.
type job struct {
	plan   *bottle.Plan
	req    driver.Request
	pushed string
	slugs  []string
	err    error // why the job cannot be built (a bad push name)
	// key is what a builder pool routes the job on (RouteKey); place is
	// where the pool placed it, nil without a pool.
	key   string
	place *pool.Placement
	fresh *freshness
}

// Build builds every plan's image and returns one outcome a plan, in the
// order given. It returns when every build has ended; a failed build does
// not stop the others. Call Check first to refuse a batch that cannot go
// well before anything is built.
func Build(ctx context.Context, plans []*bottle.Plan, o Options) []Outcome {
	jobs := group(plans, o)
	o.UpToDate.check(ctx, plans, jobs, o.Driver)
	placeJobs(ctx, jobs, o)
	byslug := bySlug(plans)
	results := make([]Outcome, len(jobs))
	sem := make(chan struct{}, max(o.Jobs, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				results[i] = buildOne(ctx, j, o, byslug)
			case <-ctx.Done():
				results[i] = notBuilt(j, o, StatusSkipped, driver.Canceled(ctx, ctx.Err()), 0)
			}
		})
	}
	wg.Wait()
	return spread(plans, jobs, results)
}

// group makes one job per distinct build: bottles whose requests
// (Dockerfile, context, tag and options, {slug} filled in) are the same
// share one.
func group(plans []*bottle.Plan, o Options) []*job {
	byKey := map[string]*job{}
	var jobs []*job
	for _, p := range plans {
		req, pushed, err := bottleRequest(p, o)
		rk := RouteKey(p)
		req = sharedCache(req, p, rk, o.Cache, o.CacheExport)
		k, _ := json.Marshal(req) // the request's JSON form is all of it but the secret values
		key := string(k) + "\x00" + pushed
		if j, ok := byKey[key]; ok && err == nil {
			j.slugs = append(j.slugs, p.Slug)
			continue
		}
		j := &job{plan: p, req: req, pushed: pushed, slugs: []string{p.Slug}, err: err, key: rk}
		byKey[key] = j
		jobs = append(jobs, j)
	}
	return jobs
}

func buildOne(ctx context.Context, j *job, o Options, plans map[string]*bottle.Plan) Outcome {
	if j.err != nil {
		return notBuilt(j, o, StatusSkipped, j.err, 0)
	}
	var sink driver.Sink = driver.Discard
	if o.Sink != nil {
		sink = o.Sink(strings.Join(j.slugs, ","))
	}
	if j.fresh != nil && j.fresh.skip {
		return upToDate(j, o, sink)
	}
	start := time.Now()
	if err := j.plan.CheckDockerfile(); err != nil {
		return notBuilt(j, o, StatusFailed, err, time.Since(start))
	}
	res, w, rep, err := run(ctx, j, o, sink)
	if err != nil {
		out := notBuilt(j, o, StatusFailed, err, time.Since(start))
		out.ErrorAt = locate(j.plan.Dockerfile, w.failedStep())
		return withReport(out, rep)
	}
	out := built(j, o, res, w.steps(res.Steps))
	if j.req.Loads() {
		out.RecordErr = o.UpToDate.record(ctx, j, plans, res)
	}
	return withReport(out, rep)
}

// built is the outcome of a job whose build succeeded.
func built(j *job, o Options, res *driver.Result, steps driver.StepCount) Outcome {
	out := base(j, o)
	out.Status, out.Steps, out.Duration = StatusBuilt, steps, res.Duration.Seconds()
	if steps.Total > 0 && steps.Cached == steps.Total {
		out.Status = StatusCached
	}
	out.ImageID, out.ConfigDigest, out.Digest, out.BxDigest = res.ImageID, res.ImageID, res.Digest, res.Digest
	var names []string
	if j.req.Loads() {
		out.Image = j.plan.Image
		names = append(names, out.Image)
	}
	if j.pushed != "" {
		out.Pushed = []string{j.pushed}
		names = append(names, j.pushed)
	}
	out.ImageName = strings.Join(names, ",")
	for _, op := range j.req.Outputs {
		if d := op.Attrs["dest"]; d != "" && !op.Loads() {
			out.Outputs = append(out.Outputs, "type="+op.Type+",dest="+d)
		}
	}
	return out
}

// notBuilt is the outcome of a job that failed or was skipped.
func notBuilt(j *job, o Options, st Status, err error, d time.Duration) Outcome {
	out := base(j, o)
	out.Status, out.Duration, out.Error, out.Err = st, d.Seconds(), err.Error(), err
	return out
}

func base(j *job, o Options) Outcome {
	return Outcome{
		SchemaVersion: SchemaVersion, Slug: j.plan.Slug, Tag: j.plan.Image,
		Dockerfile: j.plan.Dockerfile, Rebuilt: j.plan.Rebuilt, Driver: o.Driver,
	}
}

// locate finds the Dockerfile line of the failed step, if it can.
func locate(path, step string) *Location {
	if step == "" {
		return nil
	}
	f, err := dockerfile.ReadFile(path)
	if err != nil {
		return nil
	}
	in, ok := f.Step(step)
	if !ok {
		return nil
	}
	return &Location{Dockerfile: path, Line: in.Line, EndLine: in.EndLine, Step: step}
}

// spread gives each plan the outcome of the job that built its image.
func spread(plans []*bottle.Plan, jobs []*job, results []Outcome) []Outcome {
	bySlug := map[string]Outcome{}
	for i, j := range jobs {
		for _, s := range j.slugs {
			bySlug[s] = results[i]
		}
	}
	out := make([]Outcome, len(plans))
	for i, p := range plans {
		o := bySlug[p.Slug]
		if o.Slug != p.Slug {
			o.SharedWith, o.Slug = o.Slug, p.Slug
		}
		out[i] = o
	}
	return out
}

// Skipped returns the outcome of a bottle that was left out of a batch
// before it began (its rebase failed, say), for the command to report
// beside the others.
func Skipped(p *bottle.Plan, driverName string, err error) Outcome {
	if err == nil {
		err = errors.New("not built")
	}
	return notBuilt(&job{plan: p}, Options{Driver: driverName}, StatusSkipped, err, 0)
}

// Planned is one bottle's build as a batch would run it.
type Planned struct {
	// Slug is the bottle.
	Slug string `json:"slug"`
	// Image is the local tag; Dockerfile and Context what is built.
	Image      string `json:"image"`
	Dockerfile string `json:"dockerfile"`
	Context    string `json:"context"`
	// Request is the build request, {slug} filled in and the bottle's
	// Settings applied; a push is its registry output.
	Request driver.Request `json:"request"`
	// Push is the name the image is pushed as, with Request.Push.
	Push string `json:"push,omitempty"`
	// SharedWith names the bottle whose build this bottle shares.
	SharedWith string `json:"shared_with,omitempty"`
}

// Plan returns each bottle's build as Build would run it, building
// nothing (for `build --print`). Its error is the first bottle whose push
// name cannot be made.
func Plan(plans []*bottle.Plan, o Options) ([]Planned, error) {
	jobs := group(plans, o)
	var out []Planned
	for _, j := range jobs {
		if j.err != nil {
			return nil, fmt.Errorf("bottle %s: %w", j.slugs[0], j.err)
		}
		for _, s := range j.slugs {
			pl := Planned{Slug: s, Image: j.plan.Image, Dockerfile: j.plan.Dockerfile, Context: j.plan.Context, Request: j.req, Push: j.pushed}
			if s != j.slugs[0] {
				pl.SharedWith = j.slugs[0]
			}
			out = append(out, pl)
		}
	}
	order := map[string]int{}
	for i, p := range plans {
		order[p.Slug] = i
	}
	slices.SortFunc(out, func(a, b Planned) int { return order[a.Slug] - order[b.Slug] })
	return out, nil
}
