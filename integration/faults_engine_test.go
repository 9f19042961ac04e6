//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The Docker engine goes away: claude-bottle reaches it through an
// engineProxy (faults_proxy_test.go), which the test cuts at the chosen
// moment, since stopping the real dockerd would break every other test
// running on the machine.

// versionDockerfile writes its build argument V into the image.
const versionDockerfile = testenv.BusyboxDockerfile + "ARG V=unset\nRUN echo \"$V\" > /v\n"

// loadRequest is the engine API call that loads a standalone buildkitd's
// image into the engine.
const loadRequest = `POST /v[0-9.]+/images/load`

// TestFaultEngineGoneDuringLoad cuts the engine while a standalone
// buildkitd's image is being loaded into it: the build fails within 10 s
// with a message about the engine, the bottle's tag still names the
// previous image, and the state and the machine are as they were.
func TestFaultEngineGoneDuringLoad(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "engload")
	tag := "claude-bottle-rebuilt-" + slug + ":latest"
	c.setOverride(slug, versionDockerfile)
	build := []string{"build", slug, "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr, "--progress", "plain"}
	c.must(0, append(build, "--build-arg", "V=one")...)
	old := imageID(tag)
	before := treeDigest(t, c.home)

	proxy := startEngineProxy(t)
	loading := proxy.watch(loadRequest, true)
	p := c.start(append(build, "--build-arg", "V=two-"+randHex(4), "--docker-host", proxy.Host)...)
	waitHit(t, loading, time.Minute, "image load")
	cut := time.Now()
	proxy.Cut()
	code, at := p.wait(30 * time.Second)
	if took := at.Sub(cut); took > 10*time.Second {
		t.Errorf("the build failed %v after the engine went away, want under 10s", took)
	}
	wantError(t, "build whose load was cut", 1, p.stderr(), code, slug, "build daemon unreachable", "Docker engine", "is dockerd running?")
	t.Logf("failed %v after the cut: %s", at.Sub(cut).Round(time.Millisecond), errorLine(p.stderr()))
	if id := imageID(tag); id != old {
		t.Errorf("after the cut load %s names %q, want the previous image %q", tag, id, old)
	}
	if after := treeDigest(t, c.home); after != before {
		t.Errorf("the failed build changed the state root:\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(5 * time.Second)

	// The engine is back (no proxy): the next build works.
	c.must(0, append(build, "--build-arg", "V=three")...)
	if got := testenv.RunImage(t, tag, "cat", "/v"); got != "three" {
		t.Errorf("after the engine came back, /v = %q, want three", got)
	}
}

// TestFaultEngineGoneDuringLaunch cuts the engine while a bottle runs: the
// launch fails within 10 s saying the engine is unreachable, and the
// bottle's previous transcript snapshot is left exactly as it was.
func TestFaultEngineGoneDuringLaunch(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "englaunch")
	// The bottle's container outlives the cut on the real engine (a
	// stopped dockerd would have taken it down).
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
	launch := []string{"launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet"}
	res := c.must(0, append(launch, "--", "sh", "-c", "echo first > /home/node/.claude/memo")...)
	wantContains(t, "first launch", res.Stderr, "transcript saved")
	bottleDir := filepath.Join(c.home, "state", slug)
	before := treeDigest(t, bottleDir)

	proxy := startEngineProxy(t)
	p := c.start(append(launch, "--no-build", "--docker-host", proxy.Host, "--",
		"sh", "-c", "echo second > /home/node/.claude/memo; echo bottle-running; sleep 60")...)
	p.waitOut(time.Minute, "bottle-running")
	cut := time.Now()
	proxy.Cut()
	code, at := p.wait(30 * time.Second)
	if took := at.Sub(cut); took > 10*time.Second {
		t.Errorf("the launch failed %v after the engine went away, want under 10s", took)
	}
	wantError(t, "launch whose engine went away", 1, p.stderr(), code, "waiting for the bottle", "build daemon unreachable", "is dockerd running?")
	t.Logf("failed %v after the cut: %s", at.Sub(cut).Round(time.Millisecond), errorLine(p.stderr()))
	if after := treeDigest(t, bottleDir); after != before {
		t.Errorf("the failed launch changed the bottle's state (transcript):\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(5 * time.Second)
}

// wantContains fails t unless s holds want.
func wantContains(t *testing.T, what, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%s: output does not say %q:\n%s", what, want, s)
	}
}
