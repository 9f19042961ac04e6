package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/claude-bottle/claude-bottle/bottle"
)

// The pool cases: the bottles workload's 16 bottles as one cold batch
// over a pool of two buildkitds against the same batch on one, and the
// registry cache's hit rate on a member with an empty cache.

// Tools of the pool cases.
const (
	toolPoolTwo      = "claude-bottle build --all, pool of 2 buildkitds"
	toolPoolOne      = "claude-bottle build --all, 1 buildkitd"
	toolFreshCache   = "fresh member, [buildkit] cache in the registry"
	toolFreshNoCache = "fresh member, no shared cache"
)

// poolCacheRepo is the bench registry's repository of the shared cache.
const poolCacheRepo = "bench/pool-cache"

// poolState is what the pool cases keep between runs: whether the cache
// was exported, and the fresh member's hit rate of each run.
type poolState struct {
	once      sync.Once
	exportErr error
	mu        sync.Mutex
	hits      []float64
	steps     [2]int // cached, total of the last run
}

// poolCases are the pool cases; nil without a second buildkitd.
func (e *Env) poolCases() []*benchCase {
	if e.bk2 == nil {
		return nil
	}
	jobs := fmt.Sprint(e.opts.Jobs)
	all := func(home string, addrs []string, extra ...string) command {
		args := []string{"build", "--all", "--repo", e.bottles.ctx, "--driver", "buildkit", "--progress", "quiet", "--jobs", jobs}
		for _, a := range addrs {
			args = append(args, "--buildkit-addr", a)
		}
		return e.cbCmd(home, append(args, extra...)...)
	}
	images := e.bottleImages()
	cold := &benchCase{name: "pool/cold", w: e.bottles, prep: cold, images: images, contenders: []*contender{
		{tool: toolPoolTwo, ours: true, vs: toolPoolOne, run: cmdJob(all(e.homes["bottles"], []string{e.bk.Addr, e.bk2.Addr}))},
		{tool: toolPoolOne, ours: true, run: cmdJob(all(e.homes["bottles"], []string{e.bk.Addr}))},
	}}
	meta := filepath.Join(e.work, "pool-fresh-meta.json")
	withCache := all(e.homes["pool"], []string{e.bk2.Addr}, "--metadata-file", meta)
	fresh := &benchCase{name: "pool/fresh-member", w: e.bottles, prep: coldCache, images: images, contenders: []*contender{
		{tool: toolFreshCache, ours: true, vs: toolFreshNoCache, run: func(ctx context.Context, p *probe) error {
			if err := withCache.run(ctx, p); err != nil {
				return err
			}
			return e.noteHits(meta)
		}},
		{tool: toolFreshNoCache, ours: true, run: cmdJob(all(e.homes["bottles"], []string{e.bk2.Addr}))},
	}}
	return []*benchCase{cold, fresh}
}

// bottleImages are the bottles workload's images, which a cold run
// removes from the engine.
func (e *Env) bottleImages() []string {
	var out []string
	for i := 1; i <= bottlesCount; i++ {
		out = append(out, bottle.RebuiltImage(bottleSlug(i)))
	}
	return out
}

// writePoolHome makes the state root of the fresh-member case: the
// bottles' overrides and a config naming the shared cache.
func (e *Env) writePoolHome(ctx context.Context, set func(home, slug, text string) error) error {
	home := filepath.Join(e.work, "home-pool")
	e.homes["pool"] = home
	for i := 1; i <= bottlesCount; i++ {
		if err := set(home, bottleSlug(i), bottleOverride(bottleSlug(i))); err != nil {
			return err
		}
	}
	conf := fmt.Sprintf("[buildkit]\ncache = %q\n", e.reg.Host+"/"+poolCacheRepo)
	return os.WriteFile(filepath.Join(home, "config.toml"), []byte(conf), 0o644)
}

// exportPoolCache fills the shared cache once, untimed: the whole batch
// on the first buildkitd with --cache-export.
func (e *Env) exportPoolCache(ctx context.Context) error {
	e.pool.once.Do(func() {
		c := e.cbCmd(e.homes["pool"], "build", "--all", "--repo", e.bottles.ctx, "--driver", "buildkit", "--progress", "quiet",
			"--buildkit-addr", e.bk.Addr, "--cache-export", "--jobs", fmt.Sprint(e.opts.Jobs))
		_, e.pool.exportErr = c.output(ctx)
	})
	return e.pool.exportErr
}

// noteHits reads a fresh member's batch's metadata file and keeps the
// share of its Dockerfile steps that came from the cache.
func (e *Env) noteHits(meta string) error {
	data, err := os.ReadFile(meta)
	if err != nil {
		return err
	}
	var outs map[string]struct {
		Steps struct{ Total, Cached int } `json:"steps"`
	}
	if err := json.Unmarshal(data, &outs); err != nil {
		return fmt.Errorf("%s: %w", meta, err)
	}
	cached, total := 0, 0
	for _, o := range outs {
		cached += o.Steps.Cached
		total += o.Steps.Total
	}
	if total == 0 {
		return fmt.Errorf("%s: no steps", meta)
	}
	e.pool.mu.Lock()
	e.pool.hits = append(e.pool.hits, float64(cached)/float64(total))
	e.pool.steps = [2]int{cached, total}
	e.pool.mu.Unlock()
	return nil
}

// poolNotes words the fresh member's hit rate for the report.
func (e *Env) poolNotes() []string {
	e.pool.mu.Lock()
	defer e.pool.mu.Unlock()
	if len(e.pool.hits) == 0 {
		return nil
	}
	lo, hi := e.pool.hits[0], e.pool.hits[0]
	for _, h := range e.pool.hits {
		lo, hi = min(lo, h), max(hi, h)
	}
	return []string{fmt.Sprintf("pool/fresh-member: a buildkitd with an empty cache hit the registry cache for %.0f%%-%.0f%% of the 16 bottles' Dockerfile steps over %d runs (last run %d of %d)",
		lo*100, hi*100, len(e.pool.hits), e.pool.steps[0], e.pool.steps[1])}
}
