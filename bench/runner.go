package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// runTimeout bounds one run of one contender: a hung build fails its case
// instead of hanging the bench.
const runTimeout = 10 * time.Minute

// measured is what the runs of one contender gave.
type measured struct {
	samples []time.Duration
	peak    Peak
	err     error
	notes   []string
	sent    *Counts
}

// runCase runs c's contenders alternately (A B A B ...): warm-up runs
// first, then the counted ones. A contender that fails stops running; the
// others go on.
func (e *Env) runCase(ctx context.Context, c *benchCase, logf func(string, ...any)) []Result {
	runs := max(e.opts.Runs, c.minRuns)
	ms := make([]measured, len(c.contenders))
	for iter := 0; iter < e.opts.Warmup+runs; iter++ {
		for i, ct := range c.contenders {
			m := &ms[i]
			if m.err != nil {
				continue
			}
			d, peak, err := e.once(ctx, c, ct)
			if err != nil {
				m.err = err
				logf("%s: %s FAILED: %v", c.name, ct.tool, err)
				continue
			}
			m.peak = Peak{Root: max(m.peak.Root, peak.Root), Child: max(m.peak.Child, peak.Child), Children: max(m.peak.Children, peak.Children)}
			counted := iter >= e.opts.Warmup
			if counted {
				m.samples = append(m.samples, d)
			}
			logf("%s: %-46s run %d/%d %7.3fs%s", c.name, ct.tool, iter+1, e.opts.Warmup+runs, d.Seconds(), map[bool]string{false: " (warm-up)", true: ""}[counted])
		}
		if ctx.Err() != nil {
			break
		}
	}
	if c.countBytes {
		e.countBytes(ctx, c, ms)
	}
	out := make([]Result, len(c.contenders))
	for i, ct := range c.contenders {
		m := ms[i]
		r := Result{Case: c.name, Tool: ct.tool, Ours: ct.ours, Vs: ct.vs, Stats: Summarize(m.samples), Notes: m.notes, Sent: m.sent}
		if ct.rss {
			peak := m.peak
			r.Peak = &peak
			r.Notes = append([]string{rssNote(peak)}, r.Notes...)
		}
		if m.err != nil {
			r.Err = m.err.Error()
		}
		out[i] = r
	}
	return out
}

// once prepares and times one run of ct, and checks that it left its
// image in the engine.
func (e *Env) once(ctx context.Context, c *benchCase, ct *contender) (time.Duration, Peak, error) {
	if err := e.prepare(ctx, c); err != nil {
		return 0, Peak{}, fmt.Errorf("preparing the run: %w", err)
	}
	var before string
	if ct.tag != "" {
		var err error
		if before, err = e.imageID(ctx, ct.tag); err != nil {
			return 0, Peak{}, err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	p := &probe{rss: ct.rss}
	start := time.Now()
	err := ct.run(rctx, p)
	d := time.Since(start)
	if p.elapsed > 0 {
		d = p.elapsed
	}
	if err != nil {
		return d, p.peak, err
	}
	if ct.tag != "" {
		after, err := e.imageID(ctx, ct.tag)
		if err != nil {
			return d, p.peak, err
		}
		if after == "" {
			return d, p.peak, fmt.Errorf("the build succeeded but the engine has no image %q", ct.tag)
		}
		if before != "" && before != after {
			e.dropReplaced(ctx, before)
		}
	}
	return d, p.peak, nil
}

// prepare does, untimed, what c's kind of case needs before a run.
func (e *Env) prepare(ctx context.Context, c *benchCase) error {
	switch c.prep {
	case cold, coldEngine, coldCache:
		if c.prep == coldCache {
			if err := e.exportPoolCache(ctx); err != nil {
				return fmt.Errorf("filling the shared cache: %w", err)
			}
		}
		imgs := append([]string(nil), c.images...)
		for _, ct := range c.contenders {
			if ct.tag != "" {
				imgs = append(imgs, ct.tag)
			}
		}
		if err := e.removeImages(ctx, imgs); err != nil {
			return err
		}
		err := e.pruneBuildkitd(ctx)
		if c.prep == coldEngine {
			err = errors.Join(err, e.pruneEngineCache(ctx))
		}
		return err
	case touch:
		return c.w.Touch()
	case edit:
		return c.w.Edit()
	}
	return nil
}

// countBytes runs each contender once more with its engine traffic going
// through the counting proxy, and notes what it sent.
func (e *Env) countBytes(ctx context.Context, c *benchCase, ms []measured) {
	for i, ct := range c.contenders {
		if ct.viaCounter == nil || ms[i].err != nil {
			continue
		}
		e.counter.Take()
		rctx, cancel := context.WithTimeout(ctx, runTimeout)
		err := ct.viaCounter(rctx, &probe{})
		cancel()
		n := e.counter.Take()
		if err != nil {
			ms[i].err = fmt.Errorf("the run through the counting proxy failed: %w", err)
			continue
		}
		ms[i].notes = append(ms[i].notes, fmt.Sprintf("one more run through a counting proxy sent %s to the engine's image-load API (%s in %d requests in all)",
			humanBytes(n.LoadBytes), humanBytes(n.AllBytes), n.Requests))
		ms[i].sent = &n
	}
}

func rssNote(p Peak) string {
	if p.Children == 0 {
		return fmt.Sprintf("peak RSS %s, no child process", humanBytes(p.Root))
	}
	return fmt.Sprintf("peak RSS %s, its largest child (driver plugin) %s", humanBytes(p.Root), humanBytes(p.Child))
}

func humanBytes(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 10<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
