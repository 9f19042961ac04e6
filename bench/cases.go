package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	_ "github.com/claude-bottle/claude-bottle/driver/builtin" // registers the built-in drivers the plugin manager discovers
	"github.com/claude-bottle/claude-bottle/plugins"
)

// prepKind is what happens, untimed, before each run of a case.
type prepKind int

const (
	// noop: nothing; the warm-up run leaves everything cached.
	noop prepKind = iota
	// cold: the bench buildkitd's cache is emptied and the case's images
	// removed from the engine.
	cold
	// coldEngine: cold, and the engine's BuildKit cache emptied too.
	coldEngine
	// touch: one file's mtime changes.
	touch
	// edit: one file's content changes.
	edit
	// coldCache: the shared registry cache is filled once (untimed), then
	// cold before every run.
	coldCache
)

// benchCase is one scenario: a workload, what changes before each run, and
// the contenders, run alternately.
type benchCase struct {
	name       string
	w          *workload
	prep       prepKind
	contenders []*contender
	// images are engine images a cold prep removes besides the
	// contenders' own tags.
	images []string
	// minRuns raises the number of counted runs for cheap cases.
	minRuns int
	// countBytes runs each contender that can once more through the
	// counting proxy after the timed runs.
	countBytes bool
}

// cases lists every case, in the order they run.
func (e *Env) cases() []*benchCase {
	var cs []*benchCase
	add := func(c *benchCase) { cs = append(cs, c) }
	for _, w := range []*workload{e.small, e.big} {
		big := w == e.big
		add(&benchCase{name: w.name + "/cold", w: w, prep: cold, contenders: e.standalone(w, big)})
		noopCs := e.standalone(w, big)
		if big {
			// The no-op targets are taken against the engine's builders
			// too; the legacy builder sends the whole context every time.
			noopCs = append(noopCs, e.onEngine(w, false)...)
		}
		add(&benchCase{name: w.name + "/noop", w: w, prep: noop, contenders: noopCs, countBytes: true})
		add(&benchCase{name: w.name + "/touch", w: w, prep: touch, contenders: e.standalone(w, big)})
		add(&benchCase{name: w.name + "/edit", w: w, prep: edit, contenders: e.standalone(w, big)})
		if big {
			add(&benchCase{name: "engine-big/edit", w: w, prep: edit, contenders: e.bigEdit(w)})
		}
		if !big {
			add(&benchCase{name: "small/push-noop", w: w, prep: noop, contenders: e.push(w)})
			add(&benchCase{name: "engine-small/cold", w: w, prep: coldEngine, contenders: e.onEngine(w, true)})
			add(&benchCase{name: "engine-small/noop", w: w, prep: noop, contenders: e.onEngine(w, true)})
			add(&benchCase{name: "engine-small/edit", w: w, prep: edit, contenders: e.onEngine(w, true)})
		}
	}
	add(e.bottlesCase("bottles/cold", cold))
	add(e.bottlesCase("bottles/warm", noop))
	for _, c := range e.poolCases() {
		add(c)
	}
	add(e.launchCase())
	// The plugin's cost is about fixed a command, so it is shown on a short
	// and on a longer no-op.
	for _, w := range []*workload{e.small, e.big} {
		name := "plugin/noop"
		if w == e.big {
			name = "plugin/big-noop"
		}
		add(&benchCase{name: name, w: w, prep: noop, contenders: []*contender{
			{tool: toolPlugin, ours: true, vs: toolInProcess, run: cmdJob(e.cbBuildkit(w)), rss: true},
			{tool: toolInProcess, run: cmdJob(e.cbBuildkit(w).with("CLAUDE_BOTTLE_IN_PROCESS=1")), rss: true},
		}})
	}
	add(e.swapCase())
	add(&benchCase{name: "plugin/start", prep: noop, minRuns: 20, contenders: []*contender{
		{tool: toolStart, ours: true, run: timedJob(func(ctx context.Context) (time.Duration, error) { return e.pluginLife(ctx, false) })},
		{tool: toolStop, ours: true, run: timedJob(func(ctx context.Context) (time.Duration, error) { return e.pluginLife(ctx, true) })},
	}})
	return cs
}

// bottlesCase builds the 16 bottles at once. Cold, against the reference
// of one cold base build and the 16 bottles one at a time; warm, against
// one bottle's warm build.
func (e *Env) bottlesCase(name string, prep prepKind) *benchCase {
	home := e.homes["bottles"]
	cb := func(home string, args ...string) job {
		base := []string{"build", "--repo", e.bottles.ctx, "--driver", "buildkit", "--buildkit-addr", e.bk.Addr, "--progress", "quiet"}
		return cmdJob(e.cbCmd(home, append(base, args...)...))
	}
	jobs := fmt.Sprint(e.opts.Jobs)
	batch := &contender{tool: toolBatch + " --jobs " + jobs, ours: true, run: cb(home, "--all", "--jobs", jobs)}
	c := &benchCase{name: name, w: e.bottles, prep: prep, images: []string{bottle.RebuiltImage("bench-base")}}
	for i := 1; i <= bottlesCount; i++ {
		c.images = append(c.images, bottle.RebuiltImage(bottleSlug(i)))
	}
	if prep == cold {
		var slugs []string
		for i := 1; i <= bottlesCount; i++ {
			slugs = append(slugs, bottleSlug(i))
		}
		ref := seqJob(cb(e.homes["base"], "bench-base"), cb(home, append(slugs, "--jobs", "1")...))
		batch.vs = toolBatchRef
		c.contenders = []*contender{batch, {tool: toolBatchRef, ours: true, run: ref}}
		return c
	}
	// Warm, every bottle is up to date: the batch against one bottle's
	// build as users run it (up to date too), and against one bottle's
	// solve (--force), what a bottle cost before up-to-date checks.
	batch.vs = toolOneBottle
	c.contenders = []*contender{batch, {tool: toolOneBottle, ours: true, run: cb(home, bottleSlug(1))},
		{tool: toolOneSolve, ours: true, run: cb(home, bottleSlug(1), "--force")}}
	return c
}

// launchCase runs the small workload's bottle warm with a working folder,
// `-- true`, against docker running the same image the same way: what a
// launch adds to the container's own start and stop (the plan, the
// up-to-date check, the derived image, the containment set-up).
func (e *Env) launchCase() *benchCase {
	w := e.small
	cwd := filepath.Join(e.work, "launch-cwd")
	image := bottle.RebuiltImage(slug(w, ""))
	ours := cmdJob(e.cbCmd(e.homes[w.name], "launch", slug(w, ""), "--repo", w.ctx, "--driver", "buildkit",
		"--buildkit-addr", e.bk.Addr, "--progress", "quiet", "--cwd", cwd, "--", "true"))
	peer := command{name: dockerOld, args: []string{"run", "--rm", "-v", cwd + ":" + cwd, "-w", cwd, image, "true"}}
	mkdir := func(ctx context.Context, p *probe) error {
		if err := os.MkdirAll(cwd, 0o755); err != nil {
			return err
		}
		return ours(ctx, p)
	}
	return &benchCase{name: "launch/warm", w: w, prep: noop, contenders: []*contender{
		{tool: toolLaunch, ours: true, vs: toolDockerRun, run: mkdir},
		{tool: toolDockerRun, run: cmdJob(peer)},
	}}
}

// pluginLife times what a command pays for its driver plugin: to start
// it, the plugin manager runs the claude-bottle binary as the buildkit
// driver's plugin (exec, go-plugin handshake, protocol negotiation,
// Configure) and makes one Info call; to stop it, Close ends the process
// and waits for it. stop picks which half is timed.
func (e *Env) pluginLife(ctx context.Context, stop bool) (time.Duration, error) {
	m := plugins.NewManager(plugins.Options{
		Home: e.homes["small"], Self: e.cb, TempDir: e.work,
		Config: driver.Config{BuildKitAddr: e.bk.Addr},
	})
	start := time.Now()
	b, err := m.Open(ctx, "buildkit")
	if err == nil {
		_, err = b.Info(ctx)
	}
	started := time.Since(start)
	start = time.Now()
	cerr := m.Close()
	if stop {
		return time.Since(start), errors.Join(err, cerr)
	}
	return started, errors.Join(err, cerr)
}

// bigEdit are the contenders of the one-file edit in the big context that
// ends in the engine (issue 20): our buildkit driver on the engine's
// BuildKit and on the bench buildkitd with a load, each against docker
// build with BuildKit.
func (e *Env) bigEdit(w *workload) []*contender {
	bkTag := "cb-bench-dockerbk-" + w.name + ":latest"
	docker := command{name: dockerOld, args: []string{"build", "-f", w.dockerfile, "-t", bkTag, w.ctx}, env: []string{"DOCKER_BUILDKIT=1"}}
	eng := e.cbCmd(e.homes[w.name], "build", slug(w, "eng"), "--repo", w.ctx, "--progress", "quiet", "--driver", "buildkit")
	return []*contender{
		{tool: toolCBEngine, ours: true, vs: toolDockerBK, tag: bottle.RebuiltImage(slug(w, "eng")), run: cmdJob(eng)},
		{tool: toolDockerBK, tag: bkTag, run: cmdJob(docker)},
		{tool: toolCBLoad, ours: true, vs: toolDockerBK, tag: bottle.RebuiltImage(slug(w, "")), run: cmdJob(e.cbBuildkit(w))},
	}
}
