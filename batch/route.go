package batch

import (
	"context"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/pool"
)

// baseFile is the file a bottle's capabilities are layered on when it has
// a base of its own (capability.BaseFile), read here without capability's
// state machinery: only its bytes matter for routing.
const baseFile = "base.Dockerfile"

// RouteKey is the content a plan's build shares with other bottles' and
// is routed on in a builder pool: the digest of the repo Dockerfile, or,
// for a bottle built from its own rendered override, of the base the
// override was rendered from (the base is its first lines verbatim), so
// that bottles on one base land on the member that holds its layers. An
// override that starts with no known base is its own key. A file that
// cannot be read keys on its path; the build reports the read error.
func RouteKey(p *bottle.Plan) string {
	bases := []string{p.Dockerfile} // the repo's Dockerfile is its own base
	if p.Rebuilt {
		bases = baseCandidates(p)
	}
	k, err := pool.RequestKey(driver.Request{Dockerfile: p.Dockerfile}, bases...)
	if err != nil {
		return pool.Key([]byte(p.Dockerfile))
	}
	return k
}

// baseCandidates are the files a rebuilt plan's override may have been
// rendered from: the bottle's own base, then the repo's Dockerfile.
func baseCandidates(p *bottle.Plan) []string {
	var out []string
	if p.State != nil {
		out = append(out, p.State.FilePath(baseFile))
	}
	if p.Repo != "" {
		out = append(out, filepath.Join(p.Repo, "Dockerfile"))
	}
	return out
}

// sharedCache adds the shared registry cache to a job's request: every
// build imports the cache of its base (keyed like its route) and, for a
// bottle built from its own override, of that bottle; with export it
// exports its own ref (mode=max), so that one writer (CI) fills the cache
// that every builder reads.
func sharedCache(req driver.Request, p *bottle.Plan, key, repo string, export bool) driver.Request {
	if repo == "" {
		return req
	}
	baseRef := CacheRef(repo, key, "")
	own := baseRef
	req.CacheFrom = append(req.CacheFrom, registryCache(baseRef, ""))
	if p.Rebuilt {
		own = CacheRef(repo, key, p.Slug)
		req.CacheFrom = append(req.CacheFrom, registryCache(own, ""))
	}
	if export {
		req.CacheTo = append(req.CacheTo, registryCache(own, "max"))
	}
	return req
}

// CacheRef is pool.CacheRef: the shared cache's reference for a base
// (slug "") or a bottle.
func CacheRef(repo, key, slug string) string { return pool.CacheRef(repo, key, slug) }

func registryCache(ref, mode string) driver.CacheSpec {
	attrs := map[string]string{"ref": ref}
	if mode != "" {
		attrs["mode"] = mode
	}
	return driver.CacheSpec{Type: "registry", Attrs: attrs}
}

// placeJobs places a batch's jobs on the members of o.Builder when it is
// a builder pool, all at once so the pool can bound each member's load.
func placeJobs(ctx context.Context, jobs []*job, o Options) {
	pl, ok := o.Builder.(*pool.Pool)
	if !ok {
		return
	}
	var todo []*job
	var keys []string
	for _, j := range jobs {
		if j.err == nil && (j.fresh == nil || !j.fresh.skip) {
			todo = append(todo, j)
			keys = append(keys, j.key)
		}
	}
	for i, p := range pl.Place(ctx, keys) {
		todo[i].place = &p
	}
}

// run builds j: on its placed pool member, with one retry on the next if
// that member dies, or on o.Builder. It returns the watch of the last
// attempt, whose steps are the build's.
func run(ctx context.Context, j *job, o Options, sink driver.Sink) (*driver.Result, *watch, *pool.Report, error) {
	pl, ok := o.Builder.(*pool.Pool)
	if !ok || j.place == nil {
		w := newWatch(sink)
		res, err := o.Builder.Build(ctx, j.req, w)
		return res, w, nil, err
	}
	var w *watch
	res, rep, err := pl.BuildOn(ctx, *j.place, j.req, func(string) driver.Sink {
		w = newWatch(sink)
		return w
	})
	if w == nil {
		w = newWatch(sink)
	}
	return res, w, &rep, err
}

// withReport notes in out where a pool built it and why.
func withReport(out Outcome, rep *pool.Report) Outcome {
	if rep == nil {
		return out
	}
	out.Builder, out.BuilderReason = rep.Member, rep.Reason
	out.FailedOver, out.FailoverError = rep.FailedOver, rep.Failure
	return out
}

// Placements returns where a batch of plans would build on o.Builder's
// pool, by slug, as Build would place them (bottles sharing a build share
// its placement); nil when o.Builder is not a pool. It checks the
// members' health and builds nothing (for `plan`).
func Placements(ctx context.Context, plans []*bottle.Plan, o Options) map[string]pool.Placement {
	if _, ok := o.Builder.(*pool.Pool); !ok {
		return nil
	}
	jobs := group(plans, o)
	placeJobs(ctx, jobs, o)
	out := map[string]pool.Placement{}
	for _, j := range jobs {
		for _, s := range j.slugs {
			if j.place != nil {
				out[s] = *j.place
			}
		}
	}
	return out
}
