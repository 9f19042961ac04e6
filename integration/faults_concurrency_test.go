//go:build linux

package integration

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// concurrency is how many claude-bottle processes run at once.
const concurrency = 50

// runAll runs n commands at once (args(i) for the i-th) and returns their
// results; each is bounded by limit.
func (c *fcli) runAll(n int, limit time.Duration, args func(i int) []string) []testenv.Result {
	c.t.Helper()
	out := make([]testenv.Result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = runBounded(c, limit, args(i))
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// runBounded is testenv.Run without t.Fatal, which must not be called
// from another goroutine: a command that times out gets exit code -1.
func runBounded(c *fcli, limit time.Duration, args []string) testenv.Result {
	var stdout, stderr strings.Builder
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return testenv.Result{ExitCode: -1, Stderr: err.Error()}
	}
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	hung := !timer.Stop()
	res := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case hung:
		res.ExitCode, res.Stderr = -1, fmt.Sprintf("still running after %v (killed)\n%s", limit, res.Stderr)
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case err != nil:
		res.ExitCode, res.Stderr = -1, err.Error()
	}
	return res
}

// versionRE matches a whole paddedDockerfile and captures its version.
var versionRE = regexp.MustCompile(`\AFROM scratch\n(?:# version (v\d+) padding padding padding padding padding\n)+LABEL version=(v\d+)\n\z`)

// wholeVersion reports whether data is one whole paddedDockerfile.
func wholeVersion(data []byte) bool {
	m := versionRE.FindSubmatch(data)
	if m == nil || string(m[1]) != string(m[2]) {
		return false
	}
	return strings.Count(string(data), "# version "+string(m[1])+" ") == strings.Count(string(data), "# version ")
}

// TestFaultConcurrentSetAndReset runs 50 claude-bottle processes at once
// on one bottle, most setting their own version of its Dockerfile and
// some resetting it, while this test reads the file in a loop: every read
// and the final file are absent or one whole version, every process
// succeeds, and no temporary file is left.
func TestFaultConcurrentSetAndReset(t *testing.T) {
	scenario(t)
	c := newFCLI(t)
	dir := t.TempDir()
	for i := 0; i < concurrency; i++ {
		data := paddedDockerfile(fmt.Sprintf("v%d", i), 16<<10+i*512)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("v%d", i)), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.setOverride("shared", paddedDockerfile("v0", 16<<10))
	path := filepath.Join(c.home, "state", "shared", "Dockerfile")

	var reads, torn atomic.Int64
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			data, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			reads.Add(1)
			if err != nil || !wholeVersion(data) {
				torn.Add(1)
			}
		}
	}()
	results := c.runAll(concurrency, time.Minute, func(i int) []string {
		if i%5 == 4 {
			return []string{"state", "reset", "shared"}
		}
		return []string{"state", "set-dockerfile", "shared", filepath.Join(dir, fmt.Sprintf("v%d", i))}
	})
	close(stop)
	<-readerDone
	for i, r := range results {
		if r.ExitCode != 0 {
			t.Errorf("process %d: exit %d\n%s", i, r.ExitCode, r.Stderr)
		}
	}
	if torn.Load() != 0 || reads.Load() == 0 {
		t.Errorf("%d of %d reads saw a torn Dockerfile", torn.Load(), reads.Load())
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) || err == nil && !wholeVersion(data) {
		t.Errorf("the final Dockerfile is not one whole version (%v):\n%.200s", err, data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "Dockerfile" {
			t.Errorf("left in the bottle's folder: %s", e.Name())
		}
	}
	t.Logf("%d reads, all whole; final: %s", reads.Load(), versionOf(data, err))
	c.noLeaks(5 * time.Second)
}

func versionOf(data []byte, err error) string {
	if err != nil {
		return "no override"
	}
	if m := versionRE.FindSubmatch(data); m != nil {
		return string(m[1])
	}
	return "torn"
}

// idDockerfile is a bottle whose image holds its slug in /id and a label.
func idDockerfile(slug string) string {
	return fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo %s > /id\"]\nLABEL dev.claude-bottle.test.slug=%s\n", slug, slug)
}

// TestFaultConcurrentBuilds runs 50 `claude-bottle build` processes at
// once, each building a different bottle on the shared buildkitd into the
// engine: every one succeeds, and every image is the right one (its ID
// as reported, its label, and its /id file read from `docker save`).
func TestFaultConcurrentBuilds(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	run := randHex(3)
	slugs := make([]string, concurrency)
	tags := make([]string, concurrency)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("flt-conc-%s-%d", run, i)
		tags[i] = "claude-bottle-rebuilt-" + slugs[i] + ":latest"
	}
	testenv.RemoveImages(t, tags...)
	dfs := t.TempDir()
	for _, slug := range slugs {
		testenv.WriteFiles(t, dfs, map[string]string{slug: idDockerfile(slug)})
	}
	set := c.runAll(concurrency, time.Minute, func(i int) []string {
		return []string{"state", "set-dockerfile", slugs[i], filepath.Join(dfs, slugs[i])}
	})
	for i, r := range set {
		if r.ExitCode != 0 {
			t.Fatalf("set-dockerfile %s: exit %d\n%s", slugs[i], r.ExitCode, r.Stderr)
		}
	}
	meta := t.TempDir()
	start := time.Now()
	builds := c.runAll(concurrency, 3*time.Minute, func(i int) []string {
		return []string{"build", slugs[i], "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr,
			"--progress", "quiet", "--metadata-file", filepath.Join(meta, slugs[i]+".json")}
	})
	t.Logf("%d builds at once took %v", concurrency, since(start))
	ids := make([]string, concurrency)
	for i, r := range builds {
		if r.ExitCode != 0 {
			t.Errorf("build %s: exit %d\n%s", slugs[i], r.ExitCode, r.Stderr)
			continue
		}
		var m map[string]struct {
			ImageID string `json:"image_id"`
		}
		data, _ := os.ReadFile(filepath.Join(meta, slugs[i]+".json"))
		if err := json.Unmarshal(data, &m); err != nil || m[slugs[i]].ImageID == "" {
			t.Errorf("build %s: metadata %q: %v", slugs[i], data, err)
		}
		ids[i] = m[slugs[i]].ImageID
	}
	if t.Failed() {
		return
	}
	checkConcurrentImages(t, slugs, tags, ids)
	c.noLeaks(5 * time.Second)
}

// checkConcurrentImages proves each tag names the image its build
// reported, labelled with its slug and holding its slug in /id.
func checkConcurrentImages(t *testing.T, slugs, tags, ids []string) {
	t.Helper()
	out := testenv.Docker(t, append([]string{"image", "inspect", "--format", `{{.Id}} {{index .Config.Labels "dev.claude-bottle.test.slug"}}`}, tags...)...)
	lines := strings.Split(out, "\n")
	if len(lines) != len(tags) {
		t.Fatalf("image inspect gave %d lines for %d images", len(lines), len(tags))
	}
	for i, l := range lines {
		if want := ids[i] + " " + slugs[i]; l != want {
			t.Errorf("%s: engine has %q, want %q", tags[i], l, want)
		}
	}
	files := savedFiles(t, tags, "id")
	for i, tag := range tags {
		if got := files[tag]; got != slugs[i]+"\n" {
			t.Errorf("%s: /id = %q, want %q", tag, got, slugs[i]+"\n")
		}
	}
}

// savedFiles saves images with one `docker save` and returns, for each
// tag, the content of file name in its top layer.
func savedFiles(t *testing.T, tags []string, name string) map[string]string {
	t.Helper()
	cmd := exec.Command(testenv.DockerCLI(), append([]string{"save"}, tags...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	entries := map[string][]byte{}
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("docker save: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("docker save: %v", err)
		}
		entries[h.Name] = data
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	var manifest []struct {
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil {
		t.Fatalf("docker save manifest.json: %v", err)
	}
	out := map[string]string{}
	for _, m := range manifest {
		if len(m.Layers) == 0 {
			continue
		}
		content := fileInTar(entries[m.Layers[len(m.Layers)-1]], name)
		for _, tag := range m.RepoTags {
			out[tag] = content
		}
	}
	return out
}

// fileInTar returns the content of file name in a layer tar, "" if absent.
func fileInTar(layer []byte, name string) string {
	tr := tar.NewReader(strings.NewReader(string(layer)))
	for {
		h, err := tr.Next()
		if err != nil {
			return ""
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			data, _ := io.ReadAll(tr)
			return string(data)
		}
	}
}
