package batch

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/buildkey"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
)

// UpToDate says how Build tells bottles whose image is up to date and
// skips their solve (see package buildkey): each build that loads its
// image is keyed over its inputs, the key and the image ID it made are
// recorded in the state of each bottle it serves that has state, and a
// later build whose key matches a record while the engine still has that
// image ID under the tag is reported StatusUpToDate, not built.
type UpToDate struct {
	// Images lists the engine's images: called at most once a batch.
	Images func(ctx context.Context) (buildkey.Images, error)
	// Endpoint names the driver's configuration (address, TLS files,
	// docker host and binary, options): part of every key.
	Endpoint string
	// Force builds every bottle, up to date or not (--force), as a build
	// ran before up-to-date checks: nothing is walked or recorded.
	Force bool
}

// freshness is what the up-to-date check found for one job.
type freshness struct {
	in     buildkey.Inputs // every input but the context's digest
	static string          // in's key without the context (buildkey.Inputs.StaticSum)
	pats   []string        // the ignore patterns the context is walked with
	walker *buildkey.Walker
	bases  []string // the images its Dockerfile starts from
	rec    buildkey.Record
	skip   bool // up to date: report it, build nothing
}

// check keys every job and marks those that are up to date: one image
// list for the batch, and one walk a context folder. A context is walked
// before the builds only when a job's other inputs match its record;
// otherwise the walk runs beside the builds, for their records.
func (u *UpToDate) check(ctx context.Context, plans []*bottle.Plan, jobs []*job, driverName string) {
	if u == nil || u.Images == nil {
		return
	}
	bySlug := bySlug(plans)
	walker := &buildkey.Walker{}
	var images buildkey.Images
	for _, j := range jobs {
		if ok, _ := buildkey.Skippable(j.req); j.err != nil || !ok || u.Force {
			// A build asked for (--force, --no-cache, --pull) or one whose
			// key a plain build never matches (--push, --output) runs as it
			// always did: nothing read, walked, listed or recorded.
			continue
		}
		in, bases, pats, ok := staticInputs(j)
		if !ok {
			continue // not keyable: it builds, and records nothing
		}
		if images == nil {
			var err error
			if images, err = u.Images(ctx); err != nil {
				return // no engine answer: nothing is up to date, build all
			}
		}
		in.Driver, in.Endpoint = driverName, u.Endpoint
		j.fresh = u.decide(ctx, j, in, bases, pats, walker, images, bySlug)
	}
	settle(jobs)
}

// staticInputs gathers a job's inputs but for the context, the driver and
// the base IDs; ok is false when something keeps them from being keyed.
func staticInputs(j *job) (in buildkey.Inputs, bases, pats []string, ok bool) {
	data, err := os.ReadFile(j.req.Dockerfile)
	if err != nil {
		return in, nil, nil, false
	}
	f, err := dockerfile.Parse(j.req.Dockerfile, data)
	if err != nil {
		return in, nil, nil, false
	}
	if bases, ok, _ = buildkey.Bases(f, data); !ok {
		return in, nil, nil, false
	}
	pats, ignore, err := buildkey.Ignore(j.req.ContextDir, j.req.Dockerfile)
	if err != nil {
		return in, nil, nil, false
	}
	return buildkey.Inputs{Dockerfile: data, Ignore: ignore, Request: j.req}, bases, pats, true
}

// decide fills in the base IDs and compares the job's inputs with the
// records of the bottles it serves; only a record whose other inputs
// match, and whose image the engine still has under the tag, is worth
// walking the context for.
func (u *UpToDate) decide(ctx context.Context, j *job, in buildkey.Inputs, bases, pats []string, w *buildkey.Walker, images buildkey.Images, bySlug map[string]*bottle.Plan) *freshness {
	in.Bases = map[string]string{}
	for _, ref := range bases {
		id := images.ID(ref)
		if id == "" {
			return nil // the engine has no such image to key on
		}
		in.Bases[ref] = id
	}
	fr := &freshness{in: in, static: in.StaticSum(), pats: pats, walker: w, bases: bases}
	for _, slug := range j.slugs {
		if p := bySlug[slug]; p != nil && p.State != nil {
			rec, err := buildkey.ReadRecord(p.State)
			if err == nil && rec.Static == fr.static && rec.Matches(rec.Key, j.plan.Image, images) {
				fr.rec = rec
				break
			}
		}
	}
	if fr.rec.Key == "" {
		w.Start(ctx, j.req.ContextDir, pats) // beside the build, for its record
		return fr
	}
	sum, _, err := w.Context(ctx, j.req.ContextDir, pats)
	if err == nil {
		in.Context = sum
		fr.skip = in.Sum() == fr.rec.Key
	}
	return fr
}

// settle un-skips a job whose base is the tag of a job in this batch that
// will build: that tag may move under it. Repeated until nothing changes,
// for chains of bases.
func settle(jobs []*job) {
	building := func() map[string]bool {
		m := map[string]bool{}
		for _, j := range jobs {
			if j.fresh == nil || !j.fresh.skip {
				m[buildkey.Normalize(j.plan.Image)] = true
			}
		}
		return m
	}
	for changed := true; changed; {
		changed = false
		b := building()
		for _, j := range jobs {
			if j.fresh == nil || !j.fresh.skip {
				continue
			}
			for _, ref := range j.fresh.bases {
				if b[buildkey.Normalize(ref)] {
					j.fresh.skip, changed = false, true
					break
				}
			}
		}
	}
}

// upToDate is the outcome of a job found up to date; its sink hears of it
// as one cached step, so that every progress mode shows it.
func upToDate(j *job, o Options, sink driver.Sink) Outcome {
	now := time.Now()
	sink.Send(&driver.Event{Vertexes: []driver.Vertex{{
		Digest: digest.FromString("up-to-date\x00" + j.plan.Image).String(), Name: fmt.Sprintf("up to date: %s is %s (nothing it depends on changed)", j.plan.Image, j.fresh.rec.ImageID),
		Started: &now, Completed: &now, Cached: true,
	}}})
	out := base(j, o)
	out.Status, out.Image, out.ImageName = StatusUpToDate, j.plan.Image, j.plan.Image
	out.ImageID, out.ConfigDigest = j.fresh.rec.ImageID, j.fresh.rec.ImageID
	return out
}

// record writes the job's key and the image it made into the state of
// each bottle it serves that has state, after a successful build that
// loaded the image under the tag. It waits for the context's walk, and
// records nothing when that walk was racy or failed.
func (u *UpToDate) record(ctx context.Context, j *job, plans map[string]*bottle.Plan, res *driver.Result) error {
	fr := j.fresh
	if u == nil || fr == nil || res.ImageID == "" {
		return nil
	}
	sum, racy, err := fr.walker.Context(ctx, j.req.ContextDir, fr.pats)
	if err != nil || racy {
		return nil
	}
	in := fr.in
	in.Context = sum
	rec := buildkey.Record{Key: in.Sum(), Static: fr.static, ImageID: res.ImageID, Tag: j.plan.Image}
	for _, slug := range j.slugs {
		p := plans[slug]
		if p == nil || p.State == nil {
			continue
		}
		if ok, err := p.State.Exists(); err != nil || !ok {
			continue
		}
		if err := buildkey.WriteRecord(p.State, rec); err != nil {
			return err
		}
	}
	return nil
}

// bySlug indexes plans by slug.
func bySlug(plans []*bottle.Plan) map[string]*bottle.Plan {
	m := make(map[string]*bottle.Plan, len(plans))
	for _, p := range plans {
		m[p.Slug] = p
	}
	return m
}
