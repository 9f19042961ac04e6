//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The tests of `claude-bottle build` as a CI job runs it (issue 18): one
// small fixture of FROM scratch bottles, few builds.

// ciOverride is a bottle's Dockerfile: the busybox base, then a step of
// its own (line 4) that no other test or run has built.
func ciOverride(step string) string {
	return testenv.BusyboxDockerfile + step + "\n"
}

// ciMeta reads a --metadata-file with a JSON parser, as a script would.
func ciMeta(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("metadata file %s is not JSON: %v\n%s", path, err, data)
	}
	return m
}

// TestBuildCI builds through the Docker engine's BuildKit: a batch where
// one bottle fails, in both orders, with each progress mode, and outputs
// per bottle. Each check is the defect of issue 18 it names.
func TestBuildCI(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	okA, okB, bad := faultSlug(t, "ci-ok"), faultSlug(t, "ci-ok2"), faultSlug(t, "ci-bad")
	c.setOverride(okA, ciOverride("RUN echo "+randHex(8)+" > /a"))
	c.setOverride(okB, ciOverride("RUN echo "+randHex(8)+" > /b"))
	c.setOverride(bad, ciOverride("RUN echo about to fail && exit 3"))
	dir := t.TempDir()
	meta := filepath.Join(dir, "build.json")
	build := func(code int, args ...string) testenv.Result {
		t.Helper()
		return c.must(code, append(append([]string{"build"}, args...), "--repo", repo, "--driver", "buildkit")...)
	}

	// One bottle fails: exit 1 whichever comes first (defect 3); stdout
	// has every bottle, the error whole (defect 4); rawjson is JSON alone
	// with real digests (defect 5); the failed bottle names no image
	// (defect 6).
	res := build(1, okA, bad, "--progress", "rawjson", "--metadata-file", meta)
	checkTable(t, res.Stdout, map[string]string{okA: "built", bad: "failed"})
	if !strings.Contains(res.Stdout, "exit code: 3") {
		t.Errorf("the table cuts the error before its exit code:\n%s", res.Stdout)
	}
	checkRawJSON(t, res.Stderr, okA, bad)
	m := ciMeta(t, meta)
	first := m[okA]
	if first["status"] != "built" || first["image"] != "claude-bottle-rebuilt-"+okA+":latest" || first["image_id"] != imageID("claude-bottle-rebuilt-"+okA+":latest") {
		t.Errorf("%s = %v", okA, first)
	}
	if b := m[bad]; b["status"] != "failed" || b["image"] != nil || b["image_id"] != nil || b["containerimage.config.digest"] != nil || b["schema_version"] != float64(batch.SchemaVersion) {
		t.Errorf("the failed bottle's entry = %v; want status failed and no image", b)
	} else if at, _ := b["error_at"].(map[string]any); at["line"] != float64(4) {
		t.Errorf("the failed bottle's error_at = %v; want line 4", b["error_at"])
	}

	// The other order: the same exit code, and the Dockerfile lines of
	// the failed step, as buildx prints them (defects 3, 4).
	res = build(1, bad, okA, "--progress", "plain", "--force") // solve: up-to-date is TestBuildUpToDate's
	checkTable(t, res.Stdout, map[string]string{okA: "cached", bad: "failed"})
	if !strings.Contains(res.Stderr, " 4 | >>> RUN echo about to fail && exit 3") || !strings.Contains(res.Stderr, "Dockerfile:4") {
		t.Errorf("no Dockerfile excerpt of the failed step on stderr:\n%s", res.Stderr)
	}

	// The same build again counts the same steps, all cached (defect 6);
	// quiet, from $BUILDKIT_PROGRESS, prints the image ID alone (defect 5).
	c.env = append(c.env, "BUILDKIT_PROGRESS=quiet")
	res = build(0, okA, "--metadata-file", meta, "--force")
	again := ciMeta(t, meta)[okA]
	if strings.TrimSpace(res.Stdout) != first["image_id"] || res.Stderr != "" {
		t.Errorf("quiet build: stdout %q, stderr %q; want the image ID %v alone", res.Stdout, res.Stderr, first["image_id"])
	}
	steps, want := again["steps"].(map[string]any), first["steps"].(map[string]any)
	if again["status"] != "cached" || steps["total"] != want["total"] || steps["cached"] != want["total"] || want["total"] != float64(3) {
		t.Errorf("no-op rebuild: %v with steps %v; first build's steps %v (want 3 Dockerfile steps each time)", again["status"], steps, want)
	}
	c.env = append(c.env, "BUILDKIT_PROGRESS=")

	// An --output a bottle, {slug} filled in; --output replaces the load,
	// so the engine keeps the image it had (defect 2).
	before := imageID("claude-bottle-rebuilt-" + okA + ":latest")
	res = build(0, okA, okB, "--progress", "quiet", "--output", "type=tar,dest="+filepath.Join(dir, "{slug}.tar"), "--metadata-file", meta)
	for _, slug := range []string{okA, okB} {
		if st, err := os.Stat(filepath.Join(dir, slug+".tar")); err != nil || st.Size() == 0 {
			t.Errorf("no tar for %s: %v", slug, err)
		}
		if e := ciMeta(t, meta)[slug]; e["image"] != nil || e["status"] == "failed" {
			t.Errorf("%s: %v; want built, and no local image claimed", slug, e)
		}
	}
	if after := imageID("claude-bottle-rebuilt-" + okA + ":latest"); after != before {
		t.Errorf("--output moved %s's tag from %s to %s", okA, before, after)
	}
	if id := imageID("claude-bottle-rebuilt-" + okB + ":latest"); id != "" {
		t.Errorf("--output loaded %s into the engine as %s", okB, id)
	}

	// Refused before building, once: the engine's BuildKit exports no
	// local cache, a missing cache to import, one tar for two bottles
	// (defects 2, 7).
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cache-to", "type=local,dest=" + filepath.Join(dir, "cache-{slug}")}, "--cache-to type=local"},
		{[]string{"--cache-from", "type=local,src=" + filepath.Join(dir, "missing")}, "no such folder"},
		{[]string{"--output", "type=tar,dest=" + filepath.Join(dir, "all.tar")}, "{slug}"},
	} {
		res := build(2, append([]string{okA, okB, "--progress", "plain"}, tc.args...)...)
		wantError(t, strings.Join(tc.args, " "), 2, res.Stderr, res.ExitCode, tc.want)
		if n := strings.Count(res.Stderr, "\n"); n != 1 || res.Stdout != "" {
			t.Errorf("%v: refused with %d lines on stderr and %q on stdout; want one line", tc.args, n, res.Stdout)
		}
	}
	for _, p := range []string{"missing", "all.tar", "cache-" + okA} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a refused build made %s", p)
		}
	}
	c.noLeaks(5 * time.Second)
}

// checkTable checks build's table on stdout: a header and one row a
// bottle with the status wanted.
func checkTable(t *testing.T, stdout string, want map[string]string) {
	t.Helper()
	rows := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		if f := strings.Fields(line); len(f) > 1 {
			rows[f[0]] = f[1]
		}
	}
	for slug, st := range want {
		if rows[slug] != st {
			t.Errorf("table row of %s says %q, want %q:\n%s", slug, rows[slug], st, stdout)
		}
	}
}

// checkRawJSON checks rawjson progress: every stderr line but the final
// error line is a SolveStatus, every digest a digest, and each bottle's
// steps are named for it.
func checkRawJSON(t *testing.T, stderr string, slugs ...string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	named := map[string]bool{}
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "claude-bottle: ") {
			continue // the failure's one line, as buildx ends with ERROR:
		}
		n++
		var st client.SolveStatus
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			t.Errorf("rawjson line %d is not JSON: %v\n%s", n, err, line)
			continue
		}
		for _, v := range st.Vertexes {
			if err := v.Digest.Validate(); err != nil {
				t.Errorf("vertex %q: digest %q: %v", v.Name, v.Digest, err)
			}
			for _, s := range slugs {
				named[s] = named[s] || strings.HasPrefix(v.Name, "["+s+" ")
			}
		}
		for _, l := range st.Logs {
			if err := l.Vertex.Validate(); err != nil {
				t.Errorf("log: vertex %q: %v", l.Vertex, err)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no rawjson progress on stderr:\n%s", stderr)
	}
	for _, s := range slugs {
		if !named[s] {
			t.Errorf("no step named for %s in the rawjson progress", s)
		}
	}
}

// ciExample returns the README's CI example: the sh block after the
// ci-example marker.
func ciExample(t *testing.T) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- ci-example -->\n```sh\n(.*?)```").FindSubmatch(data)
	if m == nil {
		t.Fatal("README.md has no ci-example sh block")
	}
	return string(m[1])
}

// TestBuildCIExample runs the README's CI example as written against a
// local registry and a standalone buildkitd: each bottle pushed under its
// own name, the metadata file read with jq, a failed bottle reported and
// not pushed (defects 1 and 9, and the README's promise).
func TestBuildCIExample(t *testing.T) {
	testenv.RequireDocker(t)
	if _, err := exec.LookPath("jq"); err != nil {
		testenv.Unavailable(t, "no jq (apt-get install jq): the README's CI example reads the metadata file with it")
	}
	reg := testenv.SharedRegistry(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	okA, okB, bad := faultSlug(t, "ex-a"), faultSlug(t, "ex-b"), faultSlug(t, "ex-bad")
	c.setOverride(okA, ciOverride("RUN echo "+randHex(8)+" > /a"))
	c.setOverride(okB, ciOverride("RUN echo "+randHex(8)+" > /b"))
	c.setOverride(bad, ciOverride("RUN exit 3"))

	work := t.TempDir()
	script := filepath.Join(work, "ci.sh")
	if err := os.WriteFile(script, []byte(ciExample(t)), 0o755); err != nil {
		t.Fatal(err)
	}
	tag := "c" + randHex(4)
	env := append(append([]string{}, c.env...),
		"PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"),
		"REGISTRY="+reg.Host, "BUILDKIT_HOST="+bk.Addr, "CI_COMMIT_SHORT_SHA="+tag,
		"CLAUDE_BOTTLE_REPO="+repo)
	run := func() testenv.Result {
		t.Helper()
		cmd := exec.Command("bash", script)
		cmd.Dir, cmd.Env = work, append(os.Environ(), env...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return testenv.Result{Stdout: out.String(), Stderr: errOut.String(), ExitCode: code}
	}

	res := run()
	if res.ExitCode != 1 {
		t.Fatalf("the CI example with a failing bottle: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "bottle "+bad+" not built: ") || !strings.Contains(res.Stdout, "pushed 2 bottle image(s):") {
		t.Errorf("the example's report:\nstdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	}
	pushed, err := os.ReadFile(filepath.Join(work, "pushed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(pushed)), "\n")
	if len(lines) != 2 {
		t.Fatalf("pushed.txt = %q, want the two bottles that built", pushed)
	}
	for i, slug := range []string{okA, okB} {
		name, dgst, _ := strings.Cut(lines[i], "@")
		if want := reg.Host + "/bottles/" + slug + ":" + tag; name != want {
			t.Errorf("pushed %q, want %q", name, want)
		}
		if got := manifestDigest(t, reg.Host, "bottles/"+slug, tag); got != dgst {
			t.Errorf("registry has %s at %s, the metadata file says %s", name, got, dgst)
		}
		// The local tag stays local: the push went to the named registry
		// only (nothing to docker.io/library/claude-bottle-rebuilt-...).
		if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id == "" {
			t.Errorf("%s was pushed but not loaded into the engine", slug)
		}
	}
	m := ciMeta(t, filepath.Join(work, "build.json"))
	if b := m[bad]; b["status"] != "failed" || b["pushed"] != nil || b["image"] != nil {
		t.Errorf("the failed bottle's entry = %v", b)
	}
	if e := m[okA]; e["image.name"] != "claude-bottle-rebuilt-"+okA+":latest,"+reg.Host+"/bottles/"+okA+":"+tag || e["containerimage.config.digest"] != e["image_id"] {
		t.Errorf("buildx keys of %s = %v", okA, e)
	}

	// The run after: the registry cache is there and the failing bottle
	// is fixed; every step of the two others comes from the cache.
	c.setOverride(bad, ciOverride("RUN echo fixed"))
	res = run()
	if res.ExitCode != 0 {
		t.Fatalf("the CI example, all fixed: exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	m = ciMeta(t, filepath.Join(work, "build.json"))
	for _, slug := range []string{okA, okB} {
		if m[slug]["status"] != "cached" {
			t.Errorf("%s on the second run: %v; want cached", slug, m[slug]["status"])
		}
	}
	c.noLeaks(5 * time.Second)
}
