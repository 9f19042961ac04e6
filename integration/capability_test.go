//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The capabilities of issue 13 on the real engine, through each driver:
// the engine's BuildKit, a standalone buildkitd, the docker CLI and the
// example buildah plugin. Each runs the whole flow on the offline example:
// add (base steps cached, the file in the image), plan and list, a failing
// RUN that changes nothing, drift and rebase, rollback, and two adds at
// once.

func TestCapabilities(t *testing.T) {
	testenv.RequireDocker(t)
	cases := []struct {
		name string
		args func(t *testing.T, c *cli) []string
	}{
		{"buildkit-engine", func(*testing.T, *cli) []string { return []string{"--driver", "buildkit"} }},
		{"buildkit-standalone", func(t *testing.T, _ *cli) []string {
			return []string{"--driver", "buildkit", "--buildkit-addr", testenv.Buildkitd(t).Addr}
		}},
		{"docker", func(*testing.T, *cli) []string {
			return []string{"--driver", "docker", "--docker-bin", testenv.DockerCLI()}
		}},
		{"buildah-plugin", func(t *testing.T, c *cli) []string {
			requireBuildah(t)
			c.run(0, "plugin", "install", pluginBinary(t, "buildah"))
			opts := buildahOpts(t)
			return []string{"--driver", "buildah", "--driver-opt", "root=" + opts["root"], "--driver-opt", "runroot=" + opts["runroot"]}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.env = append(c.env, "USER=cb-tester", "CLAUDE_BOTTLE_REPO=", "CLAUDE_BOTTLE_DRIVER=", "CLAUDE_BOTTLE_IN_PROCESS=", "BUILDKIT_HOST=", "DOCKER_HOST=")
			c.args = tc.args(t, c)
			capabilityFlow(t, c)
		})
	}
}

// capRun is one capability test: the CLI, the bottle and its repo.
type capRun struct {
	*cli
	slug, repo, home string
	latest, previous string
}

func capabilityFlow(t *testing.T, c *cli) {
	r := newCapRun(t, c)

	// The base first, through the same driver: every step of it is then
	// in that driver's cache, whatever ran before.
	r.run(0, r.with("build", r.slug, "--repo", r.repo, "--progress", "plain")...)

	t.Run("add", r.add)
	t.Run("failing RUN changes nothing", r.failingRun)
	t.Run("drift and rebase", r.driftAndRebase)
	t.Run("rollback", r.rollback)
	t.Run("build --rebase", r.buildRebase)
	t.Run("two adds at once", r.concurrentAdds)
	t.Run("no-build then build", r.noBuildThenBuild)
}

func newCapRun(t *testing.T, c *cli) *capRun {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "offline", "repo", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	r := &capRun{cli: c, slug: "cap-" + randHex(3), repo: testenv.BusyboxContext(t, map[string]string{"Dockerfile": string(example)})}
	r.home = strings.TrimPrefix(c.env[0], "CLAUDE_BOTTLE_HOME=")
	r.latest, r.previous = "claude-bottle-rebuilt-"+r.slug+":latest", "claude-bottle-rebuilt-"+r.slug+":previous"
	testenv.RemoveImages(t, r.latest, r.previous)
	return r
}

func (r *capRun) add(t *testing.T) {
	r.t = t
	res := r.run(0, r.with("capability", "add", r.slug, "jq", "--run", "echo jq > /etc/jq", "--reason", "parse JSON", "--repo", r.repo, "--progress", "rawjson")...)
	if !strings.Contains(res.Stdout, `add "jq" built and swapped in: `+r.latest) {
		t.Errorf("add said:\n%s", res.Stdout)
	}
	steps := rawSteps(t, res.Stderr)
	for _, base := range []string{"COPY busybox /bin/busybox", `RUN ["/bin/busybox", "--install", "-s", "/bin"]`, "RUN mkdir -p /home/node/.claude /tmp && chmod 1777 /tmp"} {
		cached, ok := steps.find(base)
		if !ok || !cached {
			t.Errorf("base step %q: seen %v, cached %v; every base step must come from the cache\nsteps: %v", base, ok, cached, steps)
		}
	}
	t.Logf("%d steps seen; the base's COPY and RUN steps all cached", len(steps))
	if _, ok := steps.find("RUN echo jq > /etc/jq"); !ok {
		t.Errorf("the capability's step is not in the progress: %v", steps)
	}
	if out := testenv.RunImage(t, r.latest, "cat", "/etc/jq"); out != "jq" {
		t.Errorf("/etc/jq in %s = %q", r.latest, out)
	}
	if strings.Contains(testenv.Docker(t, "image", "ls", "--format", "{{.Tag}}", "claude-bottle-rebuilt-"+r.slug), "pending") {
		t.Error("a pending tag was left behind")
	}

	var plan struct {
		Image        string
		Capabilities []struct{ Name string }
		Stale        bool
	}
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if plan.Image != r.latest || len(plan.Capabilities) != 1 || plan.Capabilities[0].Name != "jq" || plan.Stale {
		t.Errorf("plan = %+v", plan)
	}
	if text := r.run(0, r.with("plan", r.slug, "--repo", r.repo)...).Stdout; !strings.Contains(text, "capabilities  jq") {
		t.Errorf("plan:\n%s", text)
	}
	list := r.list()
	if len(list.Capabilities) != 1 || list.Capabilities[0].Reason != "parse JSON" || list.Capabilities[0].ApprovedBy != "cb-tester" || list.Capabilities[0].Source.Kind != "operator" {
		t.Errorf("capability list = %+v", list)
	}
	if log := r.run(0, "capability", "log", r.slug).Stdout; !strings.Contains(log, "cb-tester") || !strings.Contains(log, " add ") {
		t.Errorf("capability log:\n%s", log)
	}
}

func (r *capRun) failingRun(t *testing.T) {
	r.t = t
	id, override, list := imageID(r.latest), readFile(t, r.override()), r.run(0, "capability", "list", r.slug, "--repo", r.repo, "--format", "json").Stdout
	res := r.run(1, r.with("capability", "add", r.slug, "broken", "--run", "echo about to fail; exit 3", "--repo", r.repo, "--progress", "plain")...)
	line := errorLine(res.Stderr)
	for _, want := range []string{`capability "broken" failed`, "about to fail", "nothing was changed"} {
		if !strings.Contains(line, want) {
			t.Errorf("error line lacks %q:\n%s", want, line)
		}
	}
	if got := imageID(r.latest); got != id {
		t.Errorf("the tag moved: %s, was %s", got, id)
	}
	if got := readFile(t, r.override()); got != override {
		t.Errorf("the override changed:\n%s", got)
	}
	if got := r.run(0, "capability", "list", r.slug, "--repo", r.repo, "--format", "json").Stdout; got != list {
		t.Errorf("the list changed:\n%s", got)
	}
	if strings.Contains(testenv.Docker(t, "image", "ls", "--format", "{{.Tag}}", "claude-bottle-rebuilt-"+r.slug), "pending") {
		t.Error("the failed build's pending tag was left behind")
	}
}

func (r *capRun) driftAndRebase(t *testing.T) {
	r.t = t
	before := imageID(r.latest)
	df := filepath.Join(r.repo, "Dockerfile")
	os.WriteFile(df, []byte(readFile(t, df)+"RUN echo repo-v2 > /etc/repo-version\n"), 0o644)
	text := r.run(0, r.with("plan", r.slug, "--repo", r.repo)...).Stdout
	if !strings.Contains(text, "stale since") || !strings.Contains(text, "claude-bottle capability rebase "+r.slug) {
		t.Errorf("plan after the repo changed:\n%s", text)
	}
	var plan struct{ Stale bool }
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if !plan.Stale {
		t.Error("plan --format json: stale is false")
	}
	r.run(0, r.with("capability", "rebase", r.slug, "--repo", r.repo, "--progress", "plain")...)
	if out := testenv.RunImage(t, r.latest, "cat", "/etc/jq", "/etc/repo-version"); out != "jq\nrepo-v2" {
		t.Errorf("the rebased image holds %q; want the capability and the repo's change", out)
	}
	if imageID(r.previous) != before {
		t.Errorf("%s is not the image before the rebase", r.previous)
	}
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if plan.Stale {
		t.Error("still stale after rebase")
	}
}

func (r *capRun) rollback(t *testing.T) {
	r.t = t
	current, previous := imageID(r.latest), imageID(r.previous)
	prevOverride := readFile(t, filepath.Join(r.home, "state", r.slug, "previous", "Dockerfile"))
	r.run(0, r.with("capability", "rollback", r.slug, "--repo", r.repo)...)
	if imageID(r.latest) != previous || imageID(r.previous) != current {
		t.Errorf("rollback: latest %s (want %s), previous %s (want %s)", imageID(r.latest), previous, imageID(r.previous), current)
	}
	if readFile(t, r.override()) != prevOverride {
		t.Error("rollback did not restore the override")
	}
	if out, err := testenv.DockerOut("run", "--rm", r.latest, "cat", "/etc/repo-version"); err == nil {
		t.Errorf("the rolled-back image still has the repo's change: %q", out)
	}
	if list := r.list(); len(list.Capabilities) != 1 || list.Capabilities[0].Name != "jq" {
		t.Errorf("list after rollback = %+v", list)
	}
}

// buildRebase: after the rollback the override is stale again (the repo
// still has its change); build says so, and build --rebase brings it up
// to date before it builds.
func (r *capRun) buildRebase(t *testing.T) {
	r.t = t
	res := r.run(0, r.with("build", r.slug, "--repo", r.repo, "--progress", "plain")...)
	if !strings.Contains(res.Stderr, "stale since") || !strings.Contains(res.Stderr, "--rebase") {
		t.Errorf("build of a stale bottle did not say so:\n%s", res.Stderr)
	}
	r.run(0, r.with("build", r.slug, "--repo", r.repo, "--rebase", "--progress", "plain")...)
	if out := testenv.RunImage(t, r.latest, "cat", "/etc/jq", "/etc/repo-version"); out != "jq\nrepo-v2" {
		t.Errorf("after build --rebase the image holds %q", out)
	}
	var plan struct{ Stale bool }
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if plan.Stale {
		t.Error("still stale after build --rebase")
	}
}

// concurrentAdds runs two adds on one bottle at once: both must end in
// the list and the image (one waits for the other's lock), or one be
// refused clearly; never a lost write.
func (r *capRun) concurrentAdds(t *testing.T) {
	r.t = t
	var wg sync.WaitGroup
	results := make([]testenv.Result, 2)
	for i, name := range []string{"one", "two"} {
		wg.Go(func() {
			results[i] = testenv.Run(t, 5*time.Minute, r.env, r.bin, r.with("capability", "add", r.slug, name, "--run", "echo "+name+" > /etc/"+name, "--repo", r.repo, "--progress", "plain")...)
		})
	}
	wg.Wait()
	names := map[string]bool{}
	for _, c := range r.list().Capabilities {
		names[c.Name] = true
	}
	for i, name := range []string{"one", "two"} {
		res := results[i]
		switch {
		case res.ExitCode == 0 && names[name]:
			if out := testenv.RunImage(t, r.latest, "cat", "/etc/"+name); out != name {
				t.Errorf("capability %s is listed but /etc/%s holds %q", name, name, out)
			}
		case res.ExitCode == 0:
			t.Errorf("add %s succeeded but is not in the list: a lost write\n%s", name, res.Stderr)
		case names[name]:
			t.Errorf("add %s failed but is in the list:\n%s", name, res.Stderr)
		default:
			t.Logf("add %s was refused (exit %d): %s", name, res.ExitCode, errorLine(res.Stderr))
			if res.ExitCode != 2 || errorLine(res.Stderr) == "" {
				t.Errorf("add %s failed without a clear refusal: exit %d\n%s", name, res.ExitCode, res.Stderr)
			}
		}
	}
	if strings.Count(readFile(t, filepath.Join(r.home, "state", r.slug, "audit.jsonl")), `"action":"add"`) < 3 {
		t.Error("the audit log lacks an add")
	}
}

// noBuildThenBuild records a change without building (as CI does): the
// tag stays, plan says the bottle needs a build, and `build` builds the
// new override and clears it.
func (r *capRun) noBuildThenBuild(t *testing.T) {
	r.t = t
	id := imageID(r.latest)
	r.run(0, r.with("capability", "add", r.slug, "later", "--run", "echo later > /etc/later", "--no-build", "--repo", r.repo)...)
	if imageID(r.latest) != id {
		t.Error("--no-build moved the tag")
	}
	var plan struct {
		NeedsBuild bool `json:"needs_build"`
		Hint       string
	}
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if !plan.NeedsBuild || !strings.Contains(plan.Hint, "claude-bottle build "+r.slug) {
		t.Errorf("plan after --no-build = %+v", plan)
	}
	r.run(0, r.with("build", r.slug, "--repo", r.repo, "--progress", "plain")...)
	if out := testenv.RunImage(t, r.latest, "cat", "/etc/later"); out != "later" {
		t.Errorf("/etc/later after build = %q", out)
	}
	r.jsonOut(&plan, r.with("plan", r.slug, "--repo", r.repo, "--format", "json")...)
	if plan.NeedsBuild {
		t.Error("still needs a build after build")
	}
}

func (r *capRun) override() string { return filepath.Join(r.home, "state", r.slug, "Dockerfile") }

// capList is `capability list --format json`.
type capList struct {
	Capabilities []struct {
		Name, Reason string
		ApprovedBy   string `json:"approved_by"`
		Source       struct{ Kind string }
	}
	Stale bool
}

func (r *capRun) list() capList {
	var l capList
	r.jsonOut(&l, "capability", "list", r.slug, "--repo", r.repo, "--format", "json")
	return l
}

func (r *capRun) jsonOut(v any, args ...string) {
	r.t.Helper()
	res := r.run(0, args...)
	if err := json.Unmarshal([]byte(res.Stdout), v); err != nil {
		r.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, res.Stdout)
	}
}

// stepList is the build steps --progress rawjson showed: name -> cached.
type stepList map[string]bool

// rawSteps reads the vertexes of --progress rawjson output (one
// SolveStatus a line); a step is cached if any update said so.
func rawSteps(t *testing.T, stderr string) stepList {
	steps := stepList{}
	for _, line := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var st struct {
			Vertexes []struct {
				Name   string
				Cached bool
			}
		}
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			continue
		}
		for _, v := range st.Vertexes {
			if v.Name != "" {
				steps[v.Name] = steps[v.Name] || v.Cached
			}
		}
	}
	return steps
}

// find returns whether a step whose name ends with the instruction was
// seen, and whether it was cached.
func (s stepList) find(instruction string) (cached, ok bool) {
	for name, c := range s {
		if strings.HasSuffix(strings.Join(strings.Fields(name), " "), instruction) {
			return c, true
		}
	}
	return false, false
}
