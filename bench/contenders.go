package bench

import (
	"context"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
)

// job is what a contender runs for one timed run.
type job func(ctx context.Context, p *probe) error

// contender is one tool building a case's workload.
type contender struct {
	tool string
	// ours marks claude-bottle; vs names the peer its ratio is taken to.
	ours bool
	vs   string
	run  job
	// tag is the image it leaves in the engine, if any: a cold run
	// removes it, and an edit's replaced image is removed after the run.
	tag string
	// rss asks for the peak RSS of its process tree.
	rss bool
	// viaCounter is the same run with its engine traffic going through the
	// bench's counting proxy, for the no-op bytes probe.
	viaCounter job
}

// The tools' names, as the tables show them.
const (
	toolCBLoad       = "claude-bottle buildkit (load into engine)"
	toolBCLoad       = "buildctl type=docker | docker load"
	toolCBImage      = "claude-bottle buildkit --output type=image"
	toolBCImage      = "buildctl type=image"
	toolCBPush       = "claude-bottle buildkit --output push=true"
	toolBCPush       = "buildctl type=image,push=true"
	toolCBEngine     = "claude-bottle buildkit (engine's BuildKit)"
	toolCBDockerBK   = "claude-bottle docker driver (BuildKit)"
	toolDockerBK     = "docker build (BuildKit)"
	toolCBDockerLeg  = "claude-bottle docker driver (legacy)"
	toolDockerLegacy = "docker build (legacy)"
	toolCBDockerBx   = "claude-bottle docker driver (buildx)"
	toolBuildx       = "docker buildx build --load"
	toolBatch        = "claude-bottle build --all"
	toolBatchRef     = "base cold, then 16 bottles one at a time"
	toolOneBottle    = "claude-bottle build (one bottle)"
	toolOneSolve     = "claude-bottle build --force (one bottle, solved)"
	toolLaunch       = "claude-bottle launch SLUG --cwd DIR -- true"
	toolDockerRun    = "docker run --rm -v DIR:DIR -w DIR IMAGE true"
	toolPlugin       = "claude-bottle (driver as plugin)"
	toolInProcess    = "claude-bottle (CLAUDE_BOTTLE_IN_PROCESS=1)"
	toolStart        = "plugin start+handshake+Info"
	toolStop         = "plugin stop (Manager.Close)"
)

func cmdJob(c command) job { return func(ctx context.Context, p *probe) error { return c.run(ctx, p) } }

func pipeJob(a, b command) job {
	return func(ctx context.Context, _ *probe) error { return pipe(ctx, a, b) }
}

// seqJob runs jobs one after the other, as one timed run.
func seqJob(jobs ...job) job {
	return func(ctx context.Context, p *probe) error {
		for _, j := range jobs {
			if err := j(ctx, p); err != nil {
				return err
			}
		}
		return nil
	}
}

func (c command) with(env ...string) command {
	c.env = append(append([]string(nil), c.env...), env...)
	return c
}

// cbBuildkit is claude-bottle building w's bottle on the bench buildkitd.
// --force makes it solve even when nothing changed: these cases compare
// the solve with the peers', which cannot tell an up-to-date image.
func (e *Env) cbBuildkit(w *workload, extra ...string) command {
	args := append([]string{"build", slug(w, ""), "--repo", w.ctx, "--driver", "buildkit", "--buildkit-addr", e.bk.Addr, "--progress", "quiet", "--force"}, extra...)
	return e.cbCmd(e.homes[w.name], args...)
}

// buildctlCmd is buildctl building w with the daemon's own Dockerfile
// frontend, to output.
func (e *Env) buildctlCmd(w *workload, output string) command {
	return command{name: e.buildctl, args: []string{"--addr", e.bk.Addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + w.ctx, "--local", "dockerfile=" + w.ctx, "--progress", "quiet", "--output", output}}
}

// standalone are the contenders on the bench buildkitd: ours and buildctl,
// loading into the engine and not. buildctl's docker export is asked for
// uncompressed layers, as our driver asks for them, so that both do the
// same work.
func (e *Env) standalone(w *workload, rss bool) []*contender {
	bcTag := "cb-bench-buildctl-" + w.name + ":latest"
	cbLoad := e.cbBuildkit(w)
	bcExport := e.buildctlCmd(w, "type=docker,name="+bcTag+",compression=uncompressed")
	load := command{name: dockerOld, args: []string{"load"}}
	return []*contender{
		{tool: toolCBLoad, ours: true, vs: toolBCLoad, run: cmdJob(cbLoad), tag: bottle.RebuiltImage(slug(w, "")), rss: rss,
			viaCounter: cmdJob(cbLoad.with("DOCKER_HOST=" + e.counter.Host))},
		{tool: toolBCLoad, run: pipeJob(bcExport, load), tag: bcTag,
			viaCounter: pipeJob(bcExport, load.with("DOCKER_HOST="+e.counter.Host))},
		{tool: toolCBImage, ours: true, vs: toolBCImage, rss: rss,
			run: cmdJob(e.cbBuildkit(w, "--output", "type=image,name=cb-bench-cbimage-"+w.name+":latest"))},
		{tool: toolBCImage, run: cmdJob(e.buildctlCmd(w, "type=image,name=cb-bench-bcimage-"+w.name+":latest"))},
	}
}

// push are ours and buildctl pushing w's image to the bench registry.
func (e *Env) push(w *workload) []*contender {
	ref := e.reg.Host + "/cb-bench-" + w.name
	return []*contender{
		{tool: toolCBPush, ours: true, vs: toolBCPush, run: cmdJob(e.cbBuildkit(w, "--output", "type=image,push=true,name="+ref+":cb"))},
		{tool: toolBCPush, run: cmdJob(e.buildctlCmd(w, "type=image,push=true,name="+ref+":buildctl"))},
	}
}

// onEngine are the contenders that build on the Docker engine: our docker
// driver in each mode against the docker command it runs, and our
// buildkit driver on the engine's BuildKit. Our legacy mode is left out
// where the legacy builder is too slow to run twice (the big context),
// buildx where it is missing.
func (e *Env) onEngine(w *workload, legacy bool) []*contender {
	home := e.homes[w.name]
	cb := func(variant string, extra ...string) command {
		return e.cbCmd(home, append([]string{"build", slug(w, variant), "--repo", w.ctx, "--progress", "quiet", "--force"}, extra...)...)
	}
	docker := func(bin, tag string, env ...string) command {
		return command{name: bin, args: []string{"build", "-f", w.dockerfile, "-t", tag, w.ctx}, env: env}
	}
	bkTag := "cb-bench-dockerbk-" + w.name + ":latest"
	cs := []*contender{
		{tool: toolCBDockerBK, ours: true, vs: toolDockerBK, tag: bottle.RebuiltImage(slug(w, "dk")),
			run: cmdJob(cb("dk", "--driver", "docker", "--docker-bin", dockerOld, "--driver-opt", "mode=buildkit"))},
		{tool: toolDockerBK, tag: bkTag, run: cmdJob(docker(dockerOld, bkTag, "DOCKER_BUILDKIT=1"))},
		{tool: toolCBEngine, ours: true, vs: toolDockerBK, tag: bottle.RebuiltImage(slug(w, "eng")),
			run: cmdJob(cb("eng", "--driver", "buildkit"))},
	}
	if legacy {
		cs = append(cs, &contender{tool: toolCBDockerLeg, ours: true, vs: toolDockerLegacy, tag: bottle.RebuiltImage(slug(w, "legacy")),
			run: cmdJob(cb("legacy", "--driver", "docker", "--docker-bin", dockerOld, "--driver-opt", "mode=legacy"))})
	}
	// The legacy builder is the peer of the no-op target even where our
	// docker driver's legacy mode is not repeated on it.
	legacyTag := "cb-bench-legacy-" + w.name + ":latest"
	cs = append(cs, &contender{tool: toolDockerLegacy, tag: legacyTag, run: cmdJob(docker(dockerOld, legacyTag, "DOCKER_BUILDKIT=0"))})
	if e.buildxConfig != "" {
		tag := "cb-bench-buildx-" + w.name + ":latest"
		cfg := "DOCKER_CONFIG=" + e.buildxConfig
		bx := command{name: dockerNew, args: []string{"buildx", "build", "--load", "-f", w.dockerfile, "-t", tag, w.ctx}, env: []string{cfg}}
		cs = append(cs,
			&contender{tool: toolCBDockerBx, ours: true, vs: toolBuildx, tag: bottle.RebuiltImage(slug(w, "bx")),
				run: cmdJob(cb("bx", "--driver", "docker", "--docker-bin", dockerNew, "--driver-opt", "mode=buildx").with(cfg))},
			&contender{tool: toolBuildx, tag: tag, run: cmdJob(bx)})
	}
	return cs
}

// timedJob runs f and reports its own duration, for jobs whose set-up
// and tear-down must not count.
func timedJob(f func(ctx context.Context) (time.Duration, error)) job {
	return func(ctx context.Context, p *probe) error {
		d, err := f(ctx)
		p.elapsed = d
		return err
	}
}
