package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// cli runs the claude-bottle binary against one state root.
type cli struct {
	t    *testing.T
	bin  string
	env  []string
	args []string // driver flags added to plan, build and launch
}

func newCLI(t *testing.T, driverArgs ...string) *cli {
	t.Helper()
	home := t.TempDir()
	return &cli{t: t, bin: testenv.ClaudeBottle(t), env: []string{"CLAUDE_BOTTLE_HOME=" + home}, args: driverArgs}
}

// run runs a command and fails the test unless it exits with want.
func (c *cli) run(want int, args ...string) testenv.Result {
	c.t.Helper()
	res := testenv.Run(c.t, 3*time.Minute, c.env, c.bin, args...)
	if res.ExitCode != want {
		c.t.Fatalf("claude-bottle %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), res.ExitCode, want, res.Stdout, res.Stderr)
	}
	return res
}

// with adds the driver flags to a command line, before any "--".
func (c *cli) with(args ...string) []string {
	for i, a := range args {
		if a == "--" {
			out := append(append(append([]string{}, args[:i]...), c.args...), args[i:]...)
			return out
		}
	}
	return append(args, c.args...)
}

// e2eRepo is a repo whose Dockerfile needs no registry: FROM scratch plus a
// static busybox, with the agent's state folder where Claude Code keeps it.
func e2eRepo(t *testing.T) string {
	return testenv.BusyboxContext(t, map[string]string{
		"Dockerfile": testenv.BusyboxDockerfile + "RUN mkdir -p /home/node/.claude\nCOPY VERSION /etc/repo-version\n",
		"VERSION":    "repo-v1\n",
	})
}

// TestEndToEnd walks the whole flow of issue 6 for each built-in driver:
// override, plan, build --all with metadata, launch --cwd with an exit
// code, transcript snapshot and --resume, and reset.
func TestEndToEnd(t *testing.T) {
	testenv.RequireDocker(t)
	cases := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"buildkit-engine", func(*testing.T) []string { return []string{"--driver", "buildkit"} }},
		{"buildkit-standalone", func(t *testing.T) []string {
			return []string{"--driver", "buildkit", "--buildkit-addr", testenv.Buildkitd(t).Addr}
		}},
		{"docker", func(*testing.T) []string { return []string{"--driver", "docker", "--docker-bin", testenv.DockerCLI()} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { endToEnd(t, newCLI(t, tc.args(t)...)) })
	}
}

func endToEnd(t *testing.T, c *cli) {
	repo := e2eRepo(t)
	// Slugs of this run's own: a container or tag left by an earlier run
	// that was killed must not meet this one.
	run := randHex(3)
	slug, other := "e2e-"+strings.ToLower(strings.ReplaceAll(t.Name()[len("TestEndToEnd/"):], "_", "-"))+"-"+run, "e2e-plain-"+run
	rebuilt := "claude-bottle-rebuilt-" + slug + ":latest"
	testenv.RemoveImages(t, rebuilt)
	t.Cleanup(func() {
		testenv.DockerOut("rm", "-f", "claude-bottle-"+slug)
		removeDerived(slug)
	})

	override := filepath.Join(t.TempDir(), "Dockerfile")
	testenv.WriteFiles(t, filepath.Dir(override), map[string]string{
		"Dockerfile": testenv.BusyboxDockerfile + "RUN mkdir -p /home/node/.claude\nCOPY VERSION /etc/repo-version\nRUN echo capability-x > /etc/capability\n",
	})
	c.run(0, "state", "set-dockerfile", slug, override)
	c.run(0, "state", "set-dockerfile", other, override)
	c.run(0, "state", "reset", other) // leaves state, so --all builds it on the base image

	var plan map[string]any
	res := c.run(0, c.with("plan", slug, "--repo", repo, "--format", "json")...)
	if err := json.Unmarshal([]byte(res.Stdout), &plan); err != nil {
		t.Fatalf("plan json: %v\n%s", err, res.Stdout)
	}
	if plan["image"] != rebuilt || plan["rebuilt"] != true || !strings.HasSuffix(plan["dockerfile"].(string), "/state/"+slug+"/Dockerfile") || plan["context"] != repo {
		t.Fatalf("plan = %v", plan)
	}

	meta := filepath.Join(t.TempDir(), "meta.json")
	c.run(0, c.with("build", "--all", "--repo", repo, "--metadata-file", meta, "--progress", "plain")...)
	checkMetadata(t, meta, map[string]string{slug: rebuilt, other: "claude-bottle:latest"})

	cwd := t.TempDir()
	os.WriteFile(filepath.Join(cwd, "project.txt"), []byte("hello-project"), 0o644)
	res = c.run(7, c.with("launch", slug, "--repo", repo, "--cwd", cwd, "--no-build", "--",
		"sh", "-c", "cat /etc/capability project.txt; pwd; echo remembered > /home/node/.claude/history.jsonl; exit 7")...)
	for _, want := range []string{"capability-x", "hello-project", cwd} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("launch output lacks %q:\n%s", want, res.Stdout)
		}
	}
	if !strings.Contains(res.Stderr, "transcript saved") {
		t.Errorf("launch did not save the transcript:\n%s", res.Stderr)
	}
	res = c.run(0, c.with("launch", slug, "--repo", repo, "--no-build", "--resume", "--", "cat", "/home/node/.claude/history.jsonl")...)
	if strings.TrimSpace(res.Stdout) != "remembered" {
		t.Errorf("--resume did not restore the transcript: stdout %q", res.Stdout)
	}

	c.run(0, "state", "reset", slug)
	res = c.run(0, c.with("plan", slug, "--repo", repo, "--format", "json")...)
	if !strings.Contains(res.Stdout, `"image": "claude-bottle:latest"`) || !strings.Contains(res.Stdout, filepath.Join(repo, "Dockerfile")) {
		t.Errorf("after reset, plan = %s", res.Stdout)
	}
}

// removeDerived removes the derived images (claude-bottle-cwd-SLUG:*)
// launches of slug made.
func removeDerived(slug string) {
	ids, _ := testenv.DockerOut("image", "ls", "--quiet", "--filter", "reference=claude-bottle-cwd-"+slug+":*")
	for _, id := range strings.Fields(ids) {
		testenv.DockerOut("image", "rm", "-f", id)
	}
}

func checkMetadata(t *testing.T, path string, want map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]struct {
		Image, Dockerfile, Driver, Error string
		ImageID                          string `json:"image_id"`
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatalf("metadata: %v\n%s", err, data)
	}
	for slug, image := range want {
		m, ok := meta[slug]
		if !ok || m.Image != image || m.Error != "" || m.Driver == "" {
			t.Errorf("metadata[%s] = %+v, want image %s", slug, m, image)
			continue
		}
		if id := testenv.Docker(t, "image", "inspect", "--format", "{{.Id}}", image); id != m.ImageID {
			t.Errorf("%s: engine has %s as %s, metadata says %s", slug, image, id, m.ImageID)
		}
	}
}

// TestLaunchDryRunAndTwin checks that --dry-run prints the exact build and
// run and changes nothing, that the derived image carries its host folder,
// and that a second launch of a running bottle refuses to start a twin.
func TestLaunchDryRunAndTwin(t *testing.T) {
	testenv.RequireDocker(t)
	c := newCLI(t, "--driver", "buildkit")
	repo, cwd, slug := e2eRepo(t), t.TempDir(), "e2e-twin-"+randHex(3)
	home := strings.TrimPrefix(c.env[0], "CLAUDE_BOTTLE_HOME=")

	res := c.run(0, c.with("launch", slug, "--repo", repo, "--cwd", cwd, "--dry-run", "--", "sleep", "30")...)
	for _, want := range []string{"build: driver buildkit builds " + filepath.Join(repo, "Dockerfile"), "derive: claude-bottle-cwd-" + slug, "run: docker run --name claude-bottle-" + slug, "--mount type=bind,src=" + cwd + ",dst=" + cwd + " ", "--cap-drop ALL", "--network none", "sleep 30"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, res.Stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "state")); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote state: %v", err)
	}
	if _, err := testenv.DockerOut("container", "inspect", "claude-bottle-"+slug); err == nil {
		t.Fatalf("--dry-run created a container")
	}

	plan := c.run(0, c.with("plan", slug, "--repo", repo, "--cwd", cwd, "--format", "json")...)
	var p struct {
		DerivedImage string `json:"derived_image"`
	}
	json.Unmarshal([]byte(plan.Stdout), &p)
	testenv.RemoveImages(t, p.DerivedImage)
	t.Cleanup(func() {
		testenv.DockerOut("rm", "-f", "claude-bottle-"+slug)
		removeDerived(slug)
	})

	first := make(chan testenv.Result, 1)
	go func() {
		first <- testenv.Run(t, time.Minute, c.env, c.bin, c.with("launch", slug, "--repo", repo, "--cwd", cwd, "--", "sleep", "20")...)
	}()
	waitRunning(t, "claude-bottle-"+slug)
	if label := testenv.Docker(t, "image", "inspect", "--format", `{{index .Config.Labels "dev.claude-bottle.cwd"}}`, p.DerivedImage); label != cwd {
		t.Errorf("derived image label = %q, want %q", label, cwd)
	}
	twin := c.run(1, c.with("launch", slug, "--repo", repo, "--no-build", "--", "true")...)
	if !strings.Contains(twin.Stderr, "already running") || !strings.Contains(twin.Stderr, "--attach") {
		t.Errorf("second launch: %s", twin.Stderr)
	}
	testenv.Docker(t, "kill", "claude-bottle-"+slug)
	if res := <-first; res.ExitCode != 137 {
		t.Errorf("killed bottle: exit %d, want 137 (the container's own status)\n%s", res.ExitCode, res.Stderr)
	}
}

func waitRunning(t *testing.T, name string) {
	t.Helper()
	waitFor(t, 90*time.Second, "container "+name+" to run", func() bool {
		out, err := testenv.DockerOut("container", "inspect", "--format", "{{.State.Running}}", name)
		return err == nil && out == "true"
	})
}

// TestRebuildOverrideCLI is issue 11's reproduction through the binary:
// `claude-bottle build SLUG --driver docker` twice for a bottle whose
// override (in the state folder, outside the repo) ends with `COPY . /ctx/`
// and whose repo's .dockerignore keeps itself. In each docker mode the
// second build keeps the image ID and reports its COPY and RUN steps cached.
func TestRebuildOverrideCLI(t *testing.T) {
	testenv.RequireDocker(t)
	for _, s := range dcSetups {
		t.Run(string(s.mode), func(t *testing.T) {
			c := newFCLI(t)
			cfg := t.TempDir()
			if s.buildx {
				cfg = testenv.BuildxConfig(t)
			}
			c.env = append(c.env, "DOCKER_CONFIG="+cfg)
			repo := faultRepo(t, map[string]string{".dockerignore": "secret.txt\n", "secret.txt": "no", "src/a.txt": "a\n"})
			slug := faultSlug(t, "rebuild")
			c.setOverride(slug, rebuildDockerfile)
			meta := filepath.Join(t.TempDir(), "meta.json")
			args := []string{"build", slug, "--repo", repo, "--driver", "docker", "--docker-bin", s.bin,
				"--driver-opt", "mode=" + string(s.mode), "--progress", "quiet", "--metadata-file", meta}
			c.must(0, args...)
			first := buildOutcome(t, meta, slug)
			c.must(0, append(args, "--force")...) // the no-op solve, not the up-to-date check
			again := buildOutcome(t, meta, slug)
			t.Logf("%s: first %s %+v, no-op rebuild %s %+v", s.mode, first.ImageID, first.Steps, again.ImageID, again.Steps)
			if again.ImageID != first.ImageID || again.Steps.Cached < 5 {
				t.Errorf("no-op rebuild: %s with %+v steps, want %s with the 5 COPY and RUN steps cached", again.ImageID, again.Steps, first.ImageID)
			}
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != first.ImageID {
				t.Errorf("the bottle's tag names %q, want %s", id, first.ImageID)
			}
		})
	}
}

// buildOutcome reads one bottle's outcome from a --metadata-file.
func buildOutcome(t *testing.T, path, slug string) batch.Outcome {
	t.Helper()
	var m map[string]batch.Outcome
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil || m[slug].ImageID == "" {
		t.Fatalf("metadata %s: %v\n%s", path, err, data)
	}
	return m[slug]
}

// TestLaunchSummaryDriverLine checks the preflight summary's driver line
// when no driver is named: the default and one short reason.
func TestLaunchSummaryDriverLine(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	res := c.must(0, "launch", faultSlug(t, "summary"), "--repo", repo, "--dry-run", "--", "true")
	var line string
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.HasPrefix(l, "driver ") {
			line = strings.Join(strings.Fields(l), " ")
		}
	}
	if want := "driver buildkit (default: highest priority that can build here)"; line != want {
		t.Errorf("driver line = %q, want %q\nstderr:\n%s", line, want, res.Stderr)
	}
}
