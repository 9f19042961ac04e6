//go:build linux

package integration

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// signals are the two ways a user stops claude-bottle, with the exit code
// each must give (128 + the signal's number).
var signals = []struct {
	name string
	sig  syscall.Signal
	code int
}{
	{"SIGINT", syscall.SIGINT, 130},
	{"SIGTERM", syscall.SIGTERM, 143},
}

// signalBound is how long claude-bottle may take to exit after a signal.
const signalBound = 10 * time.Second

// TestFaultSignalDuringBuild signals `claude-bottle build` while a RUN
// step runs on the shared buildkitd: it exits 130/143 at once, the solve
// is canceled in the daemon (no active build, no running step), nothing
// is tagged, the state is untouched, and no process or file is left.
func TestFaultSignalDuringBuild(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	repo := faultRepo(t, nil)
	for _, s := range signals {
		t.Run(s.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "sigbuild")
			c.setOverride(slug, napDockerfile)
			before := treeDigest(t, c.home)
			p := c.start("build", slug, "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr, "--progress", "plain")
			p.waitLine(time.Minute, "napping-now")
			if len(activeBuilds(t, bk)) == 0 {
				t.Fatal("buildkitd lists no active build during the RUN: the check below could not fail")
			}
			sent := time.Now()
			p.signal(s.sig)
			code, at := p.wait(2 * signalBound)
			if code != s.code || at.Sub(sent) > signalBound {
				t.Errorf("after %s: exit %d %v later, want %d within %v\nstderr:\n%s", s.name, code, at.Sub(sent), s.code, signalBound, p.stderr())
			}
			t.Logf("exit %d %v after %s: %s", code, at.Sub(sent).Round(time.Millisecond), s.name, errorLine(p.stderr()))
			noActiveBuilds(t, bk, 5*time.Second)
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
				t.Errorf("the interrupted build tagged %s", id)
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("the interrupted build changed the state root:\n%s\nwas\n%s", after, before)
			}
			c.noLeaks(5 * time.Second)
		})
	}
}

// TestFaultSignalDuringLoad signals `claude-bottle build` while the
// engine is receiving a standalone buildkitd's image (the load is held in
// flight by the engine proxy): it exits 130/143 within the bound, the
// engine has no such image, and nothing is left.
func TestFaultSignalDuringLoad(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	repo := faultRepo(t, nil)
	for _, s := range signals {
		t.Run(s.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "sigload")
			c.setOverride(slug, versionDockerfile)
			before := treeDigest(t, c.home)
			proxy := startEngineProxy(t)
			loading := proxy.watch(loadRequest, true)
			p := c.start("build", slug, "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr,
				"--docker-host", proxy.Host, "--build-arg", "V="+randHex(4), "--progress", "plain")
			waitHit(t, loading, time.Minute, "image load")
			if len(activeBuilds(t, bk)) == 0 {
				t.Fatal("buildkitd lists no active build during the load: the check below could not fail")
			}
			sent := time.Now()
			p.signal(s.sig)
			code, at := p.wait(2 * signalBound)
			if code != s.code || at.Sub(sent) > signalBound {
				t.Errorf("after %s: exit %d %v later, want %d within %v\nstderr:\n%s", s.name, code, at.Sub(sent), s.code, signalBound, p.stderr())
			}
			t.Logf("exit %d %v after %s: %s", code, at.Sub(sent).Round(time.Millisecond), s.name, errorLine(p.stderr()))
			proxy.Cut()
			noActiveBuilds(t, bk, 5*time.Second)
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
				t.Errorf("the interrupted load tagged %s", id)
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("the interrupted build changed the state root:\n%s\nwas\n%s", after, before)
			}
			c.noLeaks(5 * time.Second)
		})
	}
}

// TestFaultSignalDuringLaunch signals `claude-bottle launch` while the
// bottle runs: the signal is passed on to the agent, claude-bottle exits
// 130/143, the container is removed and the transcript is snapshotted
// whole.
func TestFaultSignalDuringLaunch(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, s := range signals {
		t.Run(s.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "siglaunch")
			label := "dev.claude-bottle.slug=" + slug
			t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
			c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
			p := c.start("launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--",
				"sh", "-c", `trap 'echo agent-got-signal; echo saved > /home/node/.claude/memo; exit 9' INT TERM; echo bottle-running; while :; do sleep 0.1; done`)
			p.waitOut(time.Minute, "bottle-running")
			sent := time.Now()
			p.signal(s.sig)
			code, at := p.wait(2 * signalBound)
			if code != s.code || at.Sub(sent) > signalBound {
				t.Errorf("after %s: exit %d %v later, want %d within %v\nstderr:\n%s", s.name, code, at.Sub(sent), s.code, signalBound, p.stderr())
			}
			t.Logf("exit %d %v after %s", code, at.Sub(sent).Round(time.Millisecond), s.name)
			if out := p.stdoutText(); !containsLine(out, "agent-got-signal") {
				t.Errorf("the agent did not get the signal; its output:\n%s", out)
			}
			wantContains(t, "interrupted launch", p.stderr(), "transcript saved: 1 files")
			memo := filepath.Join(c.home, "state", slug, "transcript", "memo")
			if got := readFile(t, memo); got != "saved\n" {
				t.Errorf("transcript memo = %q, want what the agent wrote on the signal", got)
			}
			if left := testenv.Containers(t, label); len(left) != 0 {
				t.Errorf("containers left after the interrupted launch: %v", left)
			}
			c.noLeaks(5 * time.Second)
		})
	}
}
