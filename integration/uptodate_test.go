//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// ageTree sets every file under dir an hour back: a repo nobody is
// editing, out of the window in which a key over it is not recorded.
func ageTree(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildUpToDate builds two bottles on the engine, then again with
// nothing changed: no solve runs (no Dockerfile step reaches the progress,
// the outcome counts none) and each bottle is reported up-to-date with
// the image the engine has. A changed context file, --force and a removed
// tag each make the next build solve again.
func TestBuildUpToDate(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, map[string]string{"app/main.txt": "one\n"})
	a, b := faultSlug(t, "utd-a"), faultSlug(t, "utd-b")
	for _, slug := range []string{a, b} {
		c.setOverride(slug, ciOverride("COPY app /app\nRUN echo "+randHex(8)+" > /id"))
	}
	ageTree(t, repo)
	meta := filepath.Join(t.TempDir(), "build.json")
	build := func(args ...string) (testenv.Result, map[string]map[string]any) {
		t.Helper()
		res := c.must(0, append([]string{"build", a, b, "--repo", repo, "--driver", "buildkit", "--metadata-file", meta}, args...)...)
		return res, ciMeta(t, meta)
	}
	solved := func(res testenv.Result) bool { return strings.Contains(res.Stderr, "RUN echo") }

	_, m := build("--progress", "plain")
	for _, slug := range []string{a, b} {
		if m[slug]["status"] != "built" {
			t.Fatalf("first build of %s: %v", slug, m[slug])
		}
	}
	res, m := build("--progress", "rawjson")
	if solved(res) {
		t.Errorf("the unchanged batch solved:\n%.2000s", res.Stderr)
	}
	for _, slug := range []string{a, b} {
		tag := "claude-bottle-rebuilt-" + slug + ":latest"
		e := m[slug]
		if e["status"] != "up-to-date" || e["image_id"] != imageID(tag) || e["image"] != tag {
			t.Errorf("unchanged %s: %v; want up-to-date as the engine's %s", slug, e, imageID(tag))
		}
		if !strings.Contains(res.Stderr, "up to date: "+tag) {
			t.Errorf("rawjson does not say %s is up to date:\n%.2000s", tag, res.Stderr)
		}
	}
	checkRawJSON(t, res.Stderr)

	// A context file's content: both rebuild, to a new image.
	oldA := imageID("claude-bottle-rebuilt-" + a + ":latest")
	if err := os.WriteFile(filepath.Join(repo, "app/main.txt"), []byte("two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, m = build("--progress", "plain")
	if !solved(res) || m[a]["status"] != "built" || m[b]["status"] != "built" || imageID("claude-bottle-rebuilt-"+a+":latest") == oldA {
		t.Errorf("after a context edit: %v / %v; want both built to a new image", m[a]["status"], m[b]["status"])
	}
	ageTree(t, repo)
	build("--progress", "plain") // recorded, now that the edit is old
	if _, m = build("--progress", "plain"); m[a]["status"] != "up-to-date" {
		t.Errorf("after the edit was recorded: %v, want up-to-date", m[a]["status"])
	}

	// --force solves anyway; so does a tag the engine no longer has.
	if res, m = build("--progress", "plain", "--force"); !solved(res) || m[a]["status"] != "cached" {
		t.Errorf("--force: %v, want cached (solved)", m[a]["status"])
	}
	testenv.Docker(t, "image", "rm", "claude-bottle-rebuilt-"+a+":latest")
	if res, m = build("--progress", "plain"); m[a]["status"] == "up-to-date" || m[b]["status"] != "up-to-date" {
		t.Errorf("with %s's tag removed: %v, %v; want %s built and %s up-to-date", a, m[a]["status"], m[b]["status"], a, b)
	}
}

// TestLaunchUpToDate launches a bottle twice with nothing changed: the
// second launch builds nothing (its progress says up to date and runs no
// step) and runs on the same derived image. A changed override builds
// again, and the derived image follows the new base.
func TestLaunchUpToDate(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	ageTree(t, repo)
	slug, cwd := faultSlug(t, "utd-l"), t.TempDir()
	derived := bottle.DerivedImage(slug, cwd)
	testenv.RemoveImages(t, derived)
	id := randHex(8)
	c.setOverride(slug, ciOverride("RUN echo "+id+" > /id"))
	launch := func() testenv.Result {
		t.Helper()
		return c.must(0, "launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "plain", "--cwd", cwd, "--", "cat", "/id")
	}
	solved := func(res testenv.Result) bool { return strings.Contains(res.Stderr, "RUN echo") }

	if res := launch(); !solved(res) || !strings.Contains(res.Stdout, id) {
		t.Fatalf("first launch: solved %v, stdout %q", solved(res), res.Stdout)
	}
	first := imageID(derived)
	res := launch()
	if solved(res) || !strings.Contains(res.Stderr, "up to date: claude-bottle-rebuilt-"+slug) || !strings.Contains(res.Stdout, id) {
		t.Errorf("unchanged launch: solved %v, stdout %q, stderr:\n%.2000s", solved(res), res.Stdout, res.Stderr)
	}
	if again := imageID(derived); again != first || first == "" {
		t.Errorf("unchanged launch: derived image %s, was %s", again, first)
	}

	id2 := randHex(8)
	c.setOverride(slug, ciOverride("RUN echo "+id2+" > /id"))
	if res := launch(); !solved(res) || !strings.Contains(res.Stdout, id2) {
		t.Errorf("after a new override: solved %v, stdout %q", solved(res), res.Stdout)
	}
	if imageID(derived) == first {
		t.Error("the derived image did not follow the new base")
	}
}
