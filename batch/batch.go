// Package batch builds many bottles' images at once, as `claude-bottle
// build` does for CI: each distinct image is built once however many
// bottles use it, up to a number of builds run in parallel, and every
// bottle gets an outcome whether its build passed or failed.
package batch

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// Options say how to run a batch.
type Options struct {
	// Jobs is how many builds run at once; below 1 means 1.
	Jobs int
	// Builder builds every image; Driver is its name, for the outcomes.
	Builder driver.Builder
	Driver  string
	// Request holds the build options every bottle's build gets (build
	// args, cache, push, ...); each bottle's plan says what is built and
	// as which tag (bottle.Plan.RequestWith).
	Request driver.Request
	// Sink returns where a build's progress goes; label names the build
	// (the slugs it serves). Nil discards progress.
	Sink func(label string) driver.Sink
	// User is who builds, for the record BuildHeld keeps; empty means
	// capability.CurrentUser().
	User string
}

// Outcome is one bottle's result, as written to --metadata-file.
type Outcome struct {
	Slug       string           `json:"slug"`
	Image      string           `json:"image"`
	ImageID    string           `json:"image_id,omitempty"`
	Digest     string           `json:"digest,omitempty"`
	Dockerfile string           `json:"dockerfile"`
	Rebuilt    bool             `json:"rebuilt"`
	Driver     string           `json:"driver"`
	Duration   float64          `json:"duration_seconds"`
	Steps      driver.StepCount `json:"steps"`
	// SharedWith names the bottle whose build produced this image, when
	// this bottle did not build it itself.
	SharedWith string `json:"shared_with,omitempty"`
	Error      string `json:"error,omitempty"`
	// Err is the build's error, for errors.Is; not serialised.
	Err error `json:"-"`
	// RecordErr is why BuildHeld could not record a successful build
	// (the image is built all the same); not serialised.
	RecordErr error `json:"-"`
}

// job is one distinct image to build and the bottles that use it.
type job struct {
	plan  *bottle.Plan
	slugs []string
}

// Build builds every plan's image and returns one outcome a plan, in the
// order given. It returns when every build has ended; a failed build does
// not stop the others.
func Build(ctx context.Context, plans []*bottle.Plan, o Options) []Outcome {
	jobs := group(plans)
	results := make([]Outcome, len(jobs))
	sem := make(chan struct{}, max(o.Jobs, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
				results[i] = buildOne(ctx, j, o)
			case <-ctx.Done():
				results[i] = failed(j.plan, o, driver.Canceled(ctx, ctx.Err()), 0)
			}
		}()
	}
	wg.Wait()
	return spread(plans, jobs, results)
}

// group makes one job per distinct (Dockerfile, context, image).
func group(plans []*bottle.Plan) []*job {
	byKey := map[string]*job{}
	var jobs []*job
	for _, p := range plans {
		key := p.Dockerfile + "\x00" + p.Context + "\x00" + p.Image
		if j, ok := byKey[key]; ok {
			j.slugs = append(j.slugs, p.Slug)
			continue
		}
		j := &job{plan: p, slugs: []string{p.Slug}}
		byKey[key] = j
		jobs = append(jobs, j)
	}
	return jobs
}

func buildOne(ctx context.Context, j *job, o Options) Outcome {
	req := j.plan.RequestWith(o.Request)
	var sink driver.Sink = driver.Discard
	if o.Sink != nil {
		sink = o.Sink(strings.Join(j.slugs, ","))
	}
	start := time.Now()
	if err := j.plan.CheckDockerfile(); err != nil {
		return failed(j.plan, o, err, time.Since(start))
	}
	res, err := o.Builder.Build(ctx, req, sink)
	if err != nil {
		return failed(j.plan, o, err, time.Since(start))
	}
	return Outcome{
		Slug: j.plan.Slug, Image: j.plan.Image, ImageID: res.ImageID, Digest: res.Digest,
		Dockerfile: j.plan.Dockerfile, Rebuilt: j.plan.Rebuilt, Driver: o.Driver,
		Duration: res.Duration.Seconds(), Steps: res.Steps,
	}
}

func failed(p *bottle.Plan, o Options, err error, d time.Duration) Outcome {
	return Outcome{
		Slug: p.Slug, Image: p.Image, Dockerfile: p.Dockerfile, Rebuilt: p.Rebuilt,
		Driver: o.Driver, Duration: d.Seconds(), Error: err.Error(), Err: err,
	}
}

// spread gives each plan the outcome of the job that built its image.
func spread(plans []*bottle.Plan, jobs []*job, results []Outcome) []Outcome {
	byImage := map[string]Outcome{}
	for i, j := range jobs {
		for _, s := range j.slugs {
			byImage[s] = results[i]
		}
	}
	out := make([]Outcome, len(plans))
	for i, p := range plans {
		o := byImage[p.Slug]
		if o.Slug != p.Slug {
			o.SharedWith, o.Slug = o.Slug, p.Slug
		}
		out[i] = o
	}
	return out
}

// Failed returns the outcomes that carry an error.
func Failed(outs []Outcome) []Outcome {
	var f []Outcome
	for _, o := range outs {
		if o.Err != nil || o.Error != "" {
			f = append(f, o)
		}
	}
	return f
}

// FirstLine returns the first line of an outcome's error, for summaries.
func (o Outcome) FirstLine() string {
	line, _, _ := strings.Cut(strings.TrimSpace(o.Error), "\n")
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	return line
}
