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
	// Force builds every bottle, up to date or not (--force); the builds
	// are recorded all the same.
	Force bool
}

// freshness is what the up-to-date check found for one job.
type freshness struct {
	key   string   // the job's key; "" when its inputs cannot be keyed
	bases []string // the images its Dockerfile starts from
	rec   buildkey.Record
	skip  bool   // up to date: report it, build nothing
	racy  bool   // a context file is too new for the key to be recorded
	why   string // why the job cannot be keyed
}

// check keys every job and marks those that are up to date. One
// walk a context folder, one image list for the batch.
func (u *UpToDate) check(ctx context.Context, plans []*bottle.Plan, jobs []*job, driverName string) {
	if u == nil || u.Images == nil {
		return
	}
	bySlug := bySlug(plans)
	var walker buildkey.Walker
	var images buildkey.Images
	for _, j := range jobs {
		if j.err != nil || !j.req.Loads() {
			continue
		}
		in, bases, racy, why := keyInputs(ctx, j, &walker)
		if why != "" {
			j.fresh = &freshness{why: why}
			continue
		}
		if images == nil {
			var err error
			if images, err = u.Images(ctx); err != nil {
				return // no engine answer: nothing is up to date, build all
			}
		}
		in.Driver, in.Endpoint = driverName, u.Endpoint
		j.fresh = u.decide(j, in, bases, images, bySlug)
		j.fresh.racy = racy
	}
	settle(jobs)
}

// keyInputs gathers a job's inputs but for the driver and the base IDs;
// why says what keeps them from being keyed.
func keyInputs(ctx context.Context, j *job, w *buildkey.Walker) (in buildkey.Inputs, bases []string, racy bool, why string) {
	data, err := os.ReadFile(j.req.Dockerfile)
	if err != nil {
		return in, nil, false, err.Error()
	}
	f, err := dockerfile.Parse(j.req.Dockerfile, data)
	if err != nil {
		return in, nil, false, err.Error()
	}
	bases, ok, why := buildkey.Bases(f, data)
	if !ok {
		return in, nil, false, why
	}
	pats, ignore, err := buildkey.Ignore(j.req.ContextDir, j.req.Dockerfile)
	if err != nil {
		return in, nil, false, err.Error()
	}
	sum, racy, err := w.Context(ctx, j.req.ContextDir, pats)
	if err != nil {
		return in, nil, false, err.Error()
	}
	return buildkey.Inputs{Dockerfile: data, Ignore: ignore, Request: j.req, Context: sum}, bases, racy, ""
}

// decide fills in the base IDs, keys the job and compares the key with
// the records of the bottles it serves.
func (u *UpToDate) decide(j *job, in buildkey.Inputs, bases []string, images buildkey.Images, bySlug map[string]*bottle.Plan) *freshness {
	in.Bases = map[string]string{}
	for _, ref := range bases {
		id := images.ID(ref)
		if id == "" {
			return &freshness{why: fmt.Sprintf("the Docker engine has no image %s to key on", ref)}
		}
		in.Bases[ref] = id
	}
	fr := &freshness{key: in.Sum(), bases: bases}
	ok, _ := buildkey.Skippable(j.req)
	for _, slug := range j.slugs {
		p := bySlug[slug]
		if p == nil || p.State == nil {
			continue
		}
		rec, err := buildkey.ReadRecord(p.State)
		if err == nil && rec.Matches(fr.key, j.plan.Image, images) {
			fr.rec, fr.skip = rec, ok && !u.Force
			break
		}
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
// loaded the image under the tag.
func (u *UpToDate) record(j *job, plans map[string]*bottle.Plan, res *driver.Result) error {
	if u == nil || j.fresh == nil || j.fresh.key == "" || j.fresh.racy || res.ImageID == "" {
		return nil
	}
	rec := buildkey.Record{Key: j.fresh.key, ImageID: res.ImageID, Tag: j.plan.Image}
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
