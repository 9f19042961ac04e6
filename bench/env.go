package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	dockerclient "github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// Options are the bench's settings (its flags).
type Options struct {
	// Runs is how many counted runs each contender gets, after Warmup
	// runs that are not counted.
	Runs, Warmup int
	// Cases is a regular expression on case names; empty runs them all.
	Cases string
	// Out, if set, receives the report as markdown.
	Out string
	// Jobs is --jobs for the bottles workload.
	Jobs int
	// Repo is the module root, whose bin/ holds buildkitd and buildctl;
	// ClaudeBottle is the binary measured (default Repo/bin/claude-bottle).
	Repo, ClaudeBottle string
	// Cache keeps the big workload's generated files between runs.
	Cache string
	// Buildx, if false, skips the docker buildx peers.
	Buildx bool
	// CBEnv is added to claude-bottle's environment only (KEY=VALUE), to
	// try a change on ours alone (GOMEMLIMIT=100MiB, say).
	CBEnv []string
}

// The docker CLIs: Debian's matches the engine (and builds with its
// BuildKit under DOCKER_BUILDKIT=1); the newer one only runs buildx.
const (
	dockerOld  = "/usr/bin/docker"
	dockerNew  = "/usr/local/bin/docker"
	busybox    = "/bin/busybox"
	engineSock = "/var/run/docker.sock"
)

// Env is everything a bench run uses: the binaries, the daemons it
// started, the workloads and the state roots of claude-bottle.
type Env struct {
	opts                       Options
	work                       string
	cb, buildctl, buildkitd    string
	buildxConfig, buildxReason string
	docker                     *dockerclient.Client
	bk                         *Buildkitd
	// bk2 is the second buildkitd of the pool cases.
	bk2                 *Buildkitd
	pool                poolState
	reg                 *Registry
	counter             *EngineCounter
	small, big, bottles *workload
	homes               map[string]string
	notes               []string
}

// setup makes the work folder, starts the daemons and writes the
// workloads. Close undoes it.
func setup(ctx context.Context, o Options, logf func(string, ...any)) (*Env, error) {
	e := &Env{opts: o, homes: map[string]string{},
		cb: o.ClaudeBottle, buildctl: filepath.Join(o.Repo, "bin", "buildctl"), buildkitd: filepath.Join(o.Repo, "bin", "buildkitd")}
	if e.cb == "" {
		e.cb = filepath.Join(o.Repo, "bin", "claude-bottle")
	}
	for _, bin := range []string{e.cb, e.buildctl, e.buildkitd, dockerOld, busybox} {
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("%s is missing: run make setup buildkitd build (or make bench) first", bin)
		}
	}
	// A short folder name keeps unix socket paths under 108 bytes.
	var err error
	if e.work, err = os.MkdirTemp("/tmp", "cb-bench-"); err != nil {
		return nil, err
	}
	if err := e.start(ctx, logf); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *Env) start(ctx context.Context, logf func(string, ...any)) error {
	var err error
	if e.docker, err = dockerclient.New(dockerclient.FromEnv); err != nil {
		return fmt.Errorf("docker engine client: %w", err)
	}
	if _, err := e.docker.Ping(ctx, dockerclient.PingOptions{}); err != nil {
		return fmt.Errorf("the Docker engine does not answer (%w): start it (make setup)", err)
	}
	if e.reg, err = StartRegistry(ctx, e.work); err != nil {
		return err
	}
	if e.bk, err = StartBuildkitd(ctx, e.buildkitd, e.work, []string{e.reg.Host}); err != nil {
		return err
	}
	if e.bk2, err = StartBuildkitd(ctx, e.buildkitd, filepath.Join(e.work, "pool"), []string{e.reg.Host}); err != nil {
		return err
	}
	if e.counter, err = StartEngineCounter(filepath.Join(e.work, "engine.sock"), engineSock); err != nil {
		return err
	}
	e.findBuildx(ctx, logf)
	logf("writing the workloads (the big one is generated once into %s)", e.opts.Cache)
	if err := e.writeWorkloads(); err != nil {
		return err
	}
	return e.writeHomes(ctx)
}

// findBuildx uses the docker-buildx plugin that the integration tests
// build into the user cache, if it is there; building it takes minutes,
// so the bench only uses one that exists.
func (e *Env) findBuildx(ctx context.Context, logf func(string, ...any)) {
	if !e.opts.Buildx {
		e.buildxReason = "skipped with -buildx=false"
		return
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		e.buildxReason = err.Error()
		return
	}
	bin := filepath.Join(cache, "claude-bottle", "buildx-"+testenv.BuildxVersion, "docker-buildx")
	if _, err := os.Stat(bin); err != nil {
		e.buildxReason = fmt.Sprintf("no docker-buildx at %s (the integration tests build it: go test ./integration -run Buildx)", bin)
		return
	}
	if _, err := os.Stat(dockerNew); err != nil {
		e.buildxReason = "no " + dockerNew + " to run buildx with"
		return
	}
	dir := filepath.Join(e.work, "docker-config")
	plugins := filepath.Join(dir, "cli-plugins")
	if err := os.MkdirAll(plugins, 0o755); err != nil {
		e.buildxReason = err.Error()
		return
	}
	if err := os.Symlink(bin, filepath.Join(plugins, "docker-buildx")); err != nil {
		e.buildxReason = err.Error()
		return
	}
	if _, err := (command{name: dockerNew, args: []string{"buildx", "version"}, env: []string{"DOCKER_CONFIG=" + dir}}).output(ctx); err != nil {
		e.buildxReason = fmt.Sprintf("docker buildx does not run: %v", err)
		return
	}
	e.buildxConfig = dir
	logf("using docker-buildx %s from %s", testenv.BuildxVersion, bin)
}

func (e *Env) writeWorkloads() error {
	files := map[string]string{"app/a.txt": "hello from the bench\n", "app/b.txt": strings.Repeat("b", 4096) + "\n"}
	var err error
	if e.small, err = newWorkload("small", filepath.Join(e.work, "small"), "app", smallDockerfile, busybox, files); err != nil {
		return err
	}
	if e.bottles, err = newWorkload("bottles", filepath.Join(e.work, "bottles"), "app", bottlesBase, busybox, files); err != nil {
		return err
	}
	bigCtx, err := EnsureTree(filepath.Join(e.opts.Cache, "big"), BigTree)
	if err != nil {
		return err
	}
	e.big, err = newWorkload("big", bigCtx, "data", bigDockerfile, busybox, nil)
	return err
}

// Bottle slugs. The small and big workloads have one bottle per way of
// building, so that each keeps its own image in the engine; the bottles
// workload has bottlesCount bottles and a base bottle for the reference.
const bottlesCount = 16

func slug(w *workload, variant string) string {
	if variant == "" {
		return "bench-" + w.name
	}
	return "bench-" + w.name + "-" + variant
}

func bottleSlug(i int) string { return fmt.Sprintf("bench-b%02d", i) }

// writeHomes gives every bottle its override through the CLI itself.
func (e *Env) writeHomes(ctx context.Context) error {
	set := func(home, slug, text string) error {
		df := filepath.Join(e.work, "override-"+slug)
		if err := os.WriteFile(df, []byte(text), 0o644); err != nil {
			return err
		}
		_, err := e.cbCmd(home, "state", "set-dockerfile", slug, df).output(ctx)
		return err
	}
	for _, w := range []*workload{e.small, e.big} {
		e.homes[w.name] = filepath.Join(e.work, "home-"+w.name)
		for _, v := range []string{"", "eng", "dk", "legacy", "bx"} {
			if err := set(e.homes[w.name], slug(w, v), w.text); err != nil {
				return err
			}
		}
	}
	e.homes["bottles"] = filepath.Join(e.work, "home-bottles")
	for i := 1; i <= bottlesCount; i++ {
		if err := set(e.homes["bottles"], bottleSlug(i), bottleOverride(bottleSlug(i))); err != nil {
			return err
		}
	}
	if err := e.writePoolHome(ctx, set); err != nil {
		return err
	}
	e.homes["base"] = filepath.Join(e.work, "home-base")
	return set(e.homes["base"], "bench-base", bottlesBase)
}

// cbCmd is claude-bottle with state root home.
func (e *Env) cbCmd(home string, args ...string) command {
	return command{name: e.cb, args: args, env: append([]string{"CLAUDE_BOTTLE_HOME=" + home}, e.opts.CBEnv...)}
}

// Close stops the daemons, removes the bench's images from the engine
// and removes the work folder. The big workload's cache stays.
func (e *Env) Close() error {
	var errs []error
	if e.docker != nil {
		errs = append(errs, e.removeBenchImages(context.Background()))
	}
	if e.counter != nil {
		e.counter.Close()
	}
	if e.bk != nil {
		e.bk.Stop()
	}
	if e.bk2 != nil {
		e.bk2.Stop()
	}
	if e.reg != nil {
		e.reg.Stop()
	}
	if e.work != "" {
		unmountUnder(e.work)
		errs = append(errs, os.RemoveAll(e.work))
	}
	return errors.Join(errs...)
}

// version runs a command and returns its first line, or why it failed.
func version(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
