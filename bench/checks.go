package bench

import (
	"fmt"
	"strings"
	"time"
)

// The project's performance targets (issue 7 and issue 4).
const (
	maxVsBuildctl     = 1.05
	maxVsLegacyNoop   = 0.10
	maxLoadVsPipeNoop = 0.50
	maxBatchWarm      = 1.5
	maxLaunchWarm     = 1.2 // issue 20
	maxBatchCold      = 1.5 // times the reference, divided by --jobs
	maxPluginOverhead = 1.02
	maxStart          = 15 * time.Millisecond
	maxRSS            = 150 << 20
	maxDockerRatio    = 1.05
	maxDockerExtra    = 50 * time.Millisecond
	maxBigEditEngine  = 0.50 // issue 20: a one-file edit of the big context
)

// Evaluate adds the target checks to r. jobs is the bottles' --jobs.
func (r *Report) Evaluate(jobs int) {
	for _, w := range []string{"small", "big"} {
		for _, k := range []string{"cold", "noop", "touch", "edit"} {
			c := w + "/" + k
			r.ratioCheck(c, toolCBLoad, toolBCLoad, maxVsBuildctl)
			r.ratioCheck(c, toolCBImage, toolBCImage, maxVsBuildctl)
		}
	}
	r.ratioCheck("big/noop", toolCBLoad, toolDockerLegacy, maxVsLegacyNoop)
	for _, c := range []string{"small/noop", "big/noop"} {
		r.ratioCheck(c, toolCBLoad, toolBCLoad, maxLoadVsPipeNoop)
		r.sentCheck(c)
	}
	r.ratioCheck("bottles/warm", toolBatch+fmt.Sprintf(" --jobs %d", jobs), toolOneBottle, maxBatchWarm)
	r.ratioCheck("bottles/cold", toolBatch+fmt.Sprintf(" --jobs %d", jobs), toolBatchRef, maxBatchCold/float64(jobs))
	r.ratioCheck("launch/warm", toolLaunch, toolDockerRun, maxLaunchWarm)
	r.pluginCheck()
	r.startCheck()
	r.swapCheck()
	r.rssChecks()
	for _, c := range []string{"engine-small/cold", "engine-small/noop", "engine-small/edit", "big/noop"} {
		r.dockerCheck(c, toolCBDockerBK, toolDockerBK)
		r.dockerCheck(c, toolCBDockerLeg, toolDockerLegacy)
		r.dockerCheck(c, toolCBDockerBx, toolBuildx)
	}
	r.ratioCheck("engine-big/edit", toolCBEngine, toolDockerBK, maxBigEditEngine)
	r.ratioCheck("engine-big/edit", toolCBLoad, toolDockerBK, maxBigEditEngine)
}

// pair returns the results of ours and peer in case c, or why they cannot
// be compared.
func (r *Report) pair(c, ours, peer string) (Result, Result, string) {
	a, okA := r.find(c, ours)
	b, okB := r.find(c, peer)
	switch {
	case !okA || !okB:
		return a, b, "case not run"
	case a.Err != "" || b.Err != "":
		return a, b, "a contender failed"
	case a.Stats.Runs == 0 || b.Stats.Runs == 0:
		return a, b, "no counted runs"
	}
	return a, b, ""
}

func (r *Report) ratioCheck(c, ours, peer string, limit float64) {
	target := fmt.Sprintf("%s: %s / %s <= %.2fx", c, ours, peer, limit)
	a, b, why := r.pair(c, ours, peer)
	if why == "case not run" { // filtered out with -cases
		return
	}
	if why != "" {
		r.Checks = append(r.Checks, Check{Target: target, Measured: why, Skipped: true})
		return
	}
	ratio := Ratio(a.Stats, b.Stats)
	r.Checks = append(r.Checks, Check{Target: target, Met: ratio <= limit,
		Measured: fmt.Sprintf("%.2fx (%.3f s / %.3f s)", ratio, a.Stats.Median.Seconds(), b.Stats.Median.Seconds())})
}

// dockerCheck: the docker driver adds at most 5% or 50 ms to the docker
// command it runs, whichever is more.
func (r *Report) dockerCheck(c, ours, peer string) {
	a, b, why := r.pair(c, ours, peer)
	if why == "case not run" {
		return
	}
	target := fmt.Sprintf("%s: %s adds <= 5%% or 50 ms to %s", c, ours, peer)
	if why != "" {
		r.Checks = append(r.Checks, Check{Target: target, Measured: why, Skipped: true})
		return
	}
	extra := a.Stats.Median - b.Stats.Median
	limit := max(time.Duration(float64(b.Stats.Median)*(maxDockerRatio-1)), maxDockerExtra)
	r.Checks = append(r.Checks, Check{Target: target, Met: extra <= limit,
		Measured: fmt.Sprintf("%+d ms (%.2fx; allowed +%d ms)", extra.Milliseconds(), Ratio(a.Stats, b.Stats), limit.Milliseconds())})
}

func (r *Report) sentCheck(c string) {
	target := c + ": a no-op rebuild on the standalone buildkitd sends nothing to the engine's image-load API"
	a, ok := r.find(c, toolCBLoad)
	switch {
	case !ok:
	case a.Sent == nil:
		r.Checks = append(r.Checks, Check{Target: target, Measured: "not counted (the run failed)", Skipped: true})
	default:
		r.Checks = append(r.Checks, Check{Target: target, Met: a.Sent.LoadBytes == 0,
			Measured: fmt.Sprintf("%s to image-load, %s in %d requests in all", humanBytes(a.Sent.LoadBytes), humanBytes(a.Sent.AllBytes), a.Sent.Requests)})
	}
}

// pluginCheck compares the build through the driver plugin with the
// in-process one, unless no plugin process was seen: then the binary ran
// its driver in-process both ways and the ratio says nothing.
func (r *Report) pluginCheck() {
	for _, c := range []string{"plugin/noop", "plugin/big-noop"} {
		if a, ok := r.find(c, toolPlugin); ok && a.Err == "" && a.Peak != nil && a.Peak.Children == 0 {
			r.Checks = append(r.Checks, Check{Skipped: true,
				Target:   fmt.Sprintf("%s: %s / %s <= %.2fx", c, toolPlugin, toolInProcess, maxPluginOverhead),
				Measured: "no driver plugin process was seen: this claude-bottle binary runs its drivers in-process either way"})
			continue
		}
		r.ratioCheck(c, toolPlugin, toolInProcess, maxPluginOverhead)
	}
}

func (r *Report) startCheck() {
	target := fmt.Sprintf("plugin/start: warm plugin start+handshake median <= %d ms", maxStart.Milliseconds())
	a, ok := r.find("plugin/start", toolStart)
	if !ok {
		return
	}
	if a.Err != "" || a.Stats.Runs == 0 {
		r.Checks = append(r.Checks, Check{Target: target, Measured: "the case failed", Skipped: true})
		return
	}
	r.Checks = append(r.Checks, Check{Target: target, Met: a.Stats.Median <= maxStart,
		Measured: fmt.Sprintf("%.1f ms (min %.1f, max %.1f)", ms(a.Stats.Median), ms(a.Stats.Min), ms(a.Stats.Max))})
}

// rssChecks: claude-bottle's peak RSS over the big workload's cases, and
// its driver plugin's, each against the limit.
func (r *Report) rssChecks() {
	var root, child Peak
	var where []string
	for _, res := range r.Results {
		if !strings.HasPrefix(res.Case, "big/") || !res.Ours || res.Peak == nil {
			continue
		}
		where = append(where, res.Case)
		if res.Peak.Root > root.Root {
			root = *res.Peak
		}
		if res.Peak.Child > child.Child {
			child = *res.Peak
		}
	}
	for _, t := range []struct {
		what string
		n    int64
	}{{"claude-bottle", root.Root}, {"its driver plugin process", child.Child}} {
		target := fmt.Sprintf("big/*: peak RSS of %s <= %d MB", t.what, maxRSS>>20)
		if len(where) == 0 {
			continue
		}
		if t.n == 0 {
			r.Checks = append(r.Checks, Check{Target: target, Measured: "no such process seen", Skipped: true})
			continue
		}
		r.Checks = append(r.Checks, Check{Target: target, Met: t.n <= maxRSS, Measured: humanBytes(t.n)})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
