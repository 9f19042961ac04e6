//go:build linux

package integration

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// napDockerfile installs busybox (two steps that are cached once done),
// then naps in a RUN for $NAP seconds, long enough to be interrupted.
const napDockerfile = testenv.BusyboxDockerfile + `ARG NAP=60
RUN echo napping-now && sleep $NAP && echo woke > /woke
`

// TestFaultBuildkitdKilledMidSolve kills buildkitd (SIGKILL) while a
// `claude-bottle build` runs a RUN on it: the command fails within 10 s
// naming the daemon's address, tags nothing, changes no state and leaves
// nothing running; after a restart the next build works and takes the
// steps finished before the kill from the cache.
func TestFaultBuildkitdKilledMidSolve(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	bk := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{})
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "bkkill")
	c.setOverride(slug, napDockerfile)
	before := treeDigest(t, c.home)
	args := []string{"build", slug, "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr, "--progress", "plain"}

	p := c.start(args...)
	p.waitLine(time.Minute, "napping-now")
	killed := time.Now()
	bk.Kill()
	code, at := p.wait(20 * time.Second)
	if took := at.Sub(killed); took > 10*time.Second {
		t.Errorf("the build failed %v after buildkitd died, want under 10s", took)
	}
	wantError(t, "build on a killed buildkitd", 1, p.stderr(), code, "build daemon unreachable", bk.Addr)
	t.Logf("failed %v after the kill: %s", at.Sub(killed).Round(time.Millisecond), errorLine(p.stderr()))
	if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
		t.Errorf("the failed build tagged %s", id)
	}
	if after := treeDigest(t, c.home); after != before {
		t.Errorf("the failed build changed the state root:\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(5 * time.Second)

	if err := bk.Restart(); err != nil {
		t.Fatal(err)
	}
	meta := filepath.Join(t.TempDir(), "meta.json")
	res := c.must(0, append(args, "--build-arg", "NAP=0", "--metadata-file", meta)...)
	if !stepCached(res.Stderr, `RUN ["/bin/busybox", "--install", "-s", "/bin"]`) {
		t.Errorf("after the restart the busybox install step was not taken from the cache:\n%s", res.Stderr)
	}
	var m map[string]struct {
		ImageID string `json:"image_id"`
	}
	data, _ := os.ReadFile(meta)
	if err := json.Unmarshal(data, &m); err != nil || m[slug].ImageID == "" {
		t.Fatalf("metadata %s: %v", data, err)
	}
	if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != m[slug].ImageID {
		t.Errorf("the engine has %q, the build says %q", id, m[slug].ImageID)
	}
	c.noLeaks(5 * time.Second)
}

// stepCached reports whether plain progress output shows the step named
// name as CACHED ("#5 [2/3] RUN ..." then "#5 CACHED").
func stepCached(plain, name string) bool {
	for _, m := range regexp.MustCompile(`(?m)^(#\d+) \[[^\]]*\] (.*)$`).FindAllStringSubmatch(plain, -1) {
		if strings.TrimSpace(m[2]) == name && strings.Contains(plain, m[1]+" CACHED\n") {
			return true
		}
	}
	return false
}

// TestFaultBuildkitdNotStarted points build at a buildkitd that is not
// there (no socket, nothing on a TCP port) or that accepts connections
// and never answers: each fails within 10 s, exit 1, naming the address.
func TestFaultBuildkitdNotStarted(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	dir := t.TempDir()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		addr func(t *testing.T) string
		args []string
		hint string // what the message tells the user to do
	}{
		{"no socket", func(*testing.T) string { return "unix://" + filepath.Join(dir, "nobody.sock") }, nil, "start buildkitd"},
		{"no listener", func(*testing.T) string { return "tcp://127.0.0.1:" + strconv.Itoa(port) }, []string{"--buildkit-insecure"}, "start buildkitd"},
		{"silent listener", func(t *testing.T) string { return "unix://" + silentListener(t, filepath.Join(dir, "silent.sock")) }, nil, "restart it"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			addr := tc.addr(t)
			start := time.Now()
			res := c.run(30*time.Second, append([]string{"build", "nobk", "--repo", repo, "--driver", "buildkit", "--buildkit-addr", addr, "--progress", "quiet"}, tc.args...)...)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the build failed after %v, want under 10s", took)
			}
			wantError(t, "build with no buildkitd", 1, res.Stderr, res.ExitCode, "build daemon unreachable", addr, tc.hint)
			t.Logf("%s: %s", since(start), errorLine(res.Stderr))
			c.noLeaks(5 * time.Second)
		})
	}
}

// silentListener accepts connections on a unix socket and never answers,
// as a hung daemon would; it is closed when t ends.
func silentListener(t *testing.T, path string) string {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return path
}
