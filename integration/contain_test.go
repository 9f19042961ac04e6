//go:build linux

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

// Containment (issue 15, "hardened by default"): every test runs the real
// CLI on the real engine and looks at the bottle from outside (docker
// inspect, the host's files, the cgroup) and from inside (the agent's own
// /proc).

// containDockerfile declares a user of its own, node (uid 1000), with a
// passwd file and a HOME that belongs to it, as Claude Code's images do:
// the agent must still run as the host user who launched it.
const containDockerfile = testenv.BusyboxDockerfile + `RUN mkdir -p /etc /home/node/.claude && printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' > /etc/passwd && chown -R 1000:1000 /home/node
USER node
`

// capsLine makes the agent print its own capability sets and
// no_new_privs from /proc/<its pid>/status, as one line.
const capsLine = `echo "caps=$(grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/$$/status | tr -d ' \t' | tr '\n' ' ')"; `

// noCaps is capsLine's output for an agent with no capability at all.
const noCaps = "CapInh:0000000000000000 CapPrm:0000000000000000 CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 NoNewPrivs:1"

// containSlug is a slug of its own whose images are removed after t.
func containSlug(t *testing.T, prefix string) string {
	t.Helper()
	slug := "cnt-" + prefix + "-" + randHex(3)
	testenv.RemoveImages(t, "claude-bottle-rebuilt-"+slug+":latest")
	t.Cleanup(func() { removeDerived(slug); testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
	return slug
}

// outValue returns the value of the agent's "key=value" output line.
func outValue(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	return "<missing>"
}

// inspected is what the tests read of `docker inspect`.
type inspected struct {
	Config struct {
		User       string
		Entrypoint []string
		Env        []string
	}
	HostConfig struct {
		CapAdd, CapDrop, SecurityOpt []string
		Privileged                   bool
		PidsLimit                    *int64
		Memory, MemorySwap, NanoCpus int64
		NetworkMode                  string
	}
	Mounts []struct {
		Source, Destination string
		RW                  bool
	}
	State struct{ Pid int }
}

func inspectContainer(t *testing.T, name string) inspected {
	t.Helper()
	var got []inspected
	if err := json.Unmarshal([]byte(testenv.Docker(t, "inspect", name)), &got); err != nil || len(got) != 1 {
		t.Fatalf("docker inspect %s: %v", name, err)
	}
	return got[0]
}

// capNames strips the CAP_ prefix some engines add.
func capNames(caps []string) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = strings.TrimPrefix(strings.ToUpper(c), "CAP_")
	}
	slices.Sort(out)
	return out
}

// TestContainHardening launches a bottle (as root, the user this suite
// runs as) on an image that declares the user node, and checks it from
// both sides while it runs: docker inspect shows the capabilities, no new
// privileges, the limits, the read-only mounts, no network and no Docker
// socket; inside, the agent has no capability at all even as uid 0,
// claude-bottle's mounts and the cwd's git configuration and hooks are
// read-only, and its files belong to the host user.
func TestContainHardening(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	slug := containSlug(t, "hard")
	c.setOverride(slug, containDockerfile)
	repo, cwd := faultRepo(t, nil), t.TempDir()
	testenv.WriteFiles(t, cwd, map[string]string{".git/config": "[core]\n", ".git/hooks/pre-commit": "#!/bin/sh\n"})
	script := capsLine + `echo "id=$(id -u):$(id -g) home=$HOME"
if echo x >> .git/config 2>/dev/null; then echo gitconfig=writable; else echo gitconfig=read-only; fi
if touch .git/hooks/post-checkout 2>/dev/null; then echo hooks=writable; else echo hooks=read-only; fi
rm -rf .git/hooks 2>/dev/null; if test -e .git/hooks/pre-commit; then echo hooksdir=kept; else echo hooksdir=removed; fi
if echo x >> /opt/claude-bottle/bin/claude-bottle 2>/dev/null; then echo binary=writable; else echo binary=read-only; fi
if touch /run/claude-bottle/planted 2>/dev/null; then echo run=writable; else echo run=read-only; fi
if touch /etc/claude-code/planted 2>/dev/null; then echo managed=writable; else echo managed=read-only; fi
if grep -q '"command": "/opt/claude-bottle/bin/claude-bottle"' /etc/claude-code/managed-mcp.json; then echo managedmcp=present; fi
echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ,)"
echo "proxy=$HTTPS_PROXY noproxy=$NO_PROXY"
touch made-by-agent && echo made=ok
trap 'echo agent-stopping; exit 3' TERM INT
echo contain-ready
while :; do sleep 0.2; done`
	p := c.start("launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--cwd", cwd, "--cpus", "1", "--", "sh", "-c", script)
	p.waitOut(2*time.Minute, "contain-ready")
	in := inspectContainer(t, "claude-bottle-"+slug)

	h := in.HostConfig
	if !slices.Equal(capNames(h.CapDrop), []string{"ALL"}) {
		t.Errorf("CapDrop = %v, want ALL", h.CapDrop)
	}
	if want := []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETPCAP", "SETUID"}; !slices.Equal(capNames(h.CapAdd), want) {
		t.Errorf("CapAdd = %v, want %v", h.CapAdd, want)
	}
	if !slices.Contains(h.SecurityOpt, "no-new-privileges") || h.Privileged {
		t.Errorf("SecurityOpt = %v, Privileged %v; want no-new-privileges", h.SecurityOpt, h.Privileged)
	}
	if h.PidsLimit == nil || *h.PidsLimit != 1024 || h.Memory != 4<<30 || h.MemorySwap != 4<<30 || h.NanoCpus != 1e9 {
		t.Errorf("limits: pids %v, memory %d, swap %d, nanocpus %d; want 1024, 4 GiB, 4 GiB, 1 CPU", h.PidsLimit, h.Memory, h.MemorySwap, h.NanoCpus)
	}
	if h.NetworkMode != "none" {
		t.Errorf("NetworkMode = %q, want none", h.NetworkMode)
	}
	if in.Config.User != "0:0" || !slices.Equal(in.Config.Entrypoint, []string{"/opt/claude-bottle/bin/claude-bottle"}) {
		t.Errorf("PID 1: user %q, entrypoint %v", in.Config.User, in.Config.Entrypoint)
	}
	rw := map[string]bool{}
	for _, m := range in.Mounts {
		rw[m.Destination] = m.RW
		if strings.Contains(m.Source, "docker.sock") || strings.Contains(m.Destination, "docker.sock") {
			t.Errorf("a Docker socket is mounted: %+v", m)
		}
	}
	wantRW := map[string]bool{
		"/opt/claude-bottle/bin/claude-bottle": false, "/run/claude-bottle": false, "/etc/claude-code": false,
		cwd: true, filepath.Join(cwd, ".git/config"): false, filepath.Join(cwd, ".git/hooks"): false,
	}
	if fmt.Sprint(rw) != fmt.Sprint(wantRW) {
		t.Errorf("mounts (destination: writable) = %v\nwant %v", rw, wantRW)
	}

	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(signalBound); code != 143 {
		t.Errorf("after SIGTERM: exit %d, want 143\nstderr:\n%s", code, p.stderr())
	}
	out := p.stdoutText()
	if got := strings.TrimSpace(outValue(out, "caps")); got != noCaps {
		t.Errorf("the agent (uid 0) has capabilities: %q\nwant %q", got, noCaps)
	}
	for key, want := range map[string]string{
		"id": "0:0 home=/home/node", "gitconfig": "read-only", "hooks": "read-only", "hooksdir": "kept",
		"binary": "read-only", "run": "read-only", "managed": "read-only", "managedmcp": "present", "ifaces": "lo,",
		"proxy": "http://127.0.0.1:3128 noproxy=localhost,127.0.0.1", "made": "ok",
	} {
		if got := outValue(out, key); got != want {
			t.Errorf("in the bottle, %s = %q, want %q", key, got, want)
		}
	}
	if !strings.Contains(out, "agent-stopping") {
		t.Errorf("the agent did not get the SIGTERM passed on by PID 1:\n%s", out)
	}
	if uid, gid := fileOwner(t, filepath.Join(cwd, "made-by-agent")); uid != 0 || gid != 0 {
		t.Errorf("made-by-agent belongs to %d:%d, want the invoking user 0:0", uid, gid)
	}
	if got := readFile(t, filepath.Join(cwd, ".git/config")); got != "[core]\n" {
		t.Errorf(".git/config changed to %q", got)
	}
	if left := testenv.Containers(t, "dev.claude-bottle.slug="+slug); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
	c.noLeaks(5 * time.Second)
}

// TestContainWritableGit: --writable-git leaves the cwd's git
// configuration and hooks writable, and --network open gives the engine's
// network back without the proxy variables; both say so.
func TestContainWritableGit(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	slug := containSlug(t, "git")
	c.setOverride(slug, testenv.BusyboxDockerfile)
	cwd := t.TempDir()
	testenv.WriteFiles(t, cwd, map[string]string{".git/config": "[core]\n", ".git/hooks/pre-commit": "#!/bin/sh\n"})
	res := c.must(0, "launch", slug, "--repo", faultRepo(t, nil), "--driver", "buildkit", "--progress", "quiet", "--cwd", cwd, "--writable-git", "--network", "open", "--",
		"sh", "-c", `echo x >> .git/config && touch .git/hooks/post-checkout && echo git-written
echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ,)"; echo "proxy=$HTTPS_PROXY"`)
	if !strings.Contains(res.Stdout, "git-written") {
		t.Errorf("with --writable-git the agent could not write .git:\n%s\n%s", res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "warning: --writable-git") || !strings.Contains(res.Stderr, "warning: network open") {
		t.Errorf("no warning for --writable-git and --network open:\n%s", res.Stderr)
	}
	if got := outValue(res.Stdout, "ifaces"); !strings.Contains(got, "eth0,") || outValue(res.Stdout, "proxy") != "" {
		t.Errorf("with --network open: interfaces %q, proxy %q; want the engine's eth0 and no proxy", got, outValue(res.Stdout, "proxy"))
	}
	if got := readFile(t, filepath.Join(cwd, ".git/config")); got != "[core]\nx\n" {
		t.Errorf(".git/config = %q, want the agent's line added", got)
	}
}

// TestContainZombies: an orphan the agent leaves behind is adopted by PID
// 1 and reaped when it exits, not left a zombie.
func TestContainZombies(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	slug := containSlug(t, "zombie")
	c.setOverride(slug, testenv.BusyboxDockerfile)
	// The subshell exits at once, so each sleep is re-parented to PID 1; a
	// second later each has exited: gone if reaped, state Z if not.
	script := `pids=""; for i in 1 2 3 4 5; do pids="$pids $(sleep 0.3 >/dev/null 2>&1 & echo $!)"; done
for p in $pids; do echo "parent=$(grep PPid /proc/$p/status | tr -d ' \t')"; done
sleep 1.5
for p in $pids; do if test -e /proc/$p/stat; then echo "left=$p $(cut -d' ' -f3 /proc/$p/stat)"; else echo reaped=$p; fi; done`
	res := c.must(0, "launch", slug, "--repo", faultRepo(t, nil), "--driver", "buildkit", "--progress", "quiet", "--", "sh", "-c", script)
	if n := strings.Count(res.Stdout, "parent=PPid:1\n"); n != 5 {
		t.Fatalf("%d of 5 orphans were adopted by PID 1, so the check below could not fail:\n%s", n, res.Stdout)
	}
	if n := strings.Count(res.Stdout, "reaped="); n != 5 || strings.Contains(res.Stdout, "left=") {
		t.Errorf("orphans not reaped:\n%s", res.Stdout)
	}
}

// TestContainPidsLimit: a fork bomb in the bottle stops at the pids
// limit (the cgroup never holds more), and the bottle still stops when
// asked, within the bound.
func TestContainPidsLimit(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	slug := containSlug(t, "bomb")
	c.setOverride(slug, testenv.BusyboxDockerfile)
	const limit = 128
	script := `trap 'exit 7' TERM INT; bomb() { bomb | bomb & }; bomb; echo bomb-lit; while :; do :; done`
	p := c.start("launch", slug, "--repo", faultRepo(t, nil), "--driver", "buildkit", "--progress", "quiet",
		"--pids-limit", strconv.Itoa(limit), "--cpus", "0.5", "--", "sh", "-c", script)
	p.waitOut(2*time.Minute, "bomb-lit")
	in := inspectContainer(t, "claude-bottle-"+slug)
	current, max := pidsFiles(t, in.State.Pid)
	if got := strings.TrimSpace(readFile(t, max)); got != strconv.Itoa(limit) {
		t.Fatalf("pids.max = %s, want %d", got, limit)
	}
	peak, full := 0, time.Time{}
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		n, _ := strconv.Atoi(strings.TrimSpace(readFile(t, current)))
		peak = max2(peak, n)
		if n >= limit-2 && full.IsZero() {
			full = time.Now()
		}
		if !full.IsZero() && time.Since(full) > 3*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if full.IsZero() {
		t.Fatalf("the bomb never filled the bottle (peak %d of %d): the check could not fail", peak, limit)
	}
	if peak > limit {
		t.Errorf("the bottle held %d processes, over its limit of %d", peak, limit)
	}
	t.Logf("fork bomb: %d processes (limit %d) %v after it was lit; held there 3 s", peak, limit, full.Sub(start).Round(time.Millisecond))
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	code, at := p.wait(2 * signalBound)
	if code != 143 || at.Sub(sent) > signalBound {
		t.Errorf("after SIGTERM: exit %d %v later, want 143 within %v\nstderr:\n%s", code, at.Sub(sent), signalBound, p.stderr())
	}
	t.Logf("bottle with a fork bomb stopped %v after SIGTERM", at.Sub(sent).Round(time.Millisecond))
	// PID 1 (Go) lived through the bomb: it passed the signal on and the
	// agent's own status back.
	if !strings.Contains(p.stderr(), "exited with status 7") || strings.Contains(p.stderr(), "runtime:") {
		t.Errorf("the agent's trap status did not come back through PID 1:\n%s", p.stderr())
	}
	if left := testenv.Containers(t, "dev.claude-bottle.slug="+slug); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

func max2(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// pidsFiles finds the pids cgroup files of the process pid (a bottle's
// PID 1), on cgroup v1 or v2.
func pidsFiles(t *testing.T, pid int) (current, max string) {
	t.Helper()
	for _, l := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/cgroup", pid)), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		var dir string
		switch {
		case slices.Contains(strings.Split(f[1], ","), "pids"):
			dir = filepath.Join("/sys/fs/cgroup/pids", f[2])
		case f[0] == "0" && f[1] == "":
			dir = filepath.Join("/sys/fs/cgroup", f[2])
		default:
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "pids.current")); err == nil {
			return filepath.Join(dir, "pids.current"), filepath.Join(dir, "pids.max")
		}
	}
	t.Fatalf("no pids cgroup for pid %d", pid)
	return "", ""
}

// TestContainRefusedCwd: each working folder that would put the host in
// the agent's reach is refused through the CLI: exit 2, one line, nothing
// built, run or written.
func TestContainRefusedCwd(t *testing.T) {
	testenv.RequireDocker(t)
	c := newFCLI(t)
	userHome := t.TempDir()
	c.env = append(c.env, "HOME="+userHome)
	os.MkdirAll(filepath.Join(c.home, "state"), 0o700)
	withSock := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(withSock, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	linked := t.TempDir()
	os.MkdirAll(filepath.Join(linked, "shared-hooks"), 0o755)
	os.MkdirAll(filepath.Join(linked, ".git"), 0o755)
	os.Symlink("../shared-hooks", filepath.Join(linked, ".git", "hooks"))
	engineSock := "/var/run/docker.sock"
	if _, err := os.Stat(engineSock); err != nil {
		t.Fatalf("the engine's socket %s: %v", engineSock, err)
	}
	repo := faultRepo(t, nil)
	tests := []struct{ name, cwd, reason string }{
		{"root", "/", "is the root folder"},
		{"home", userHome, "is your home folder"},
		{"state root", c.home, "is inside claude-bottle's state root"},
		{"inside the state root", filepath.Join(c.home, "state"), "is inside claude-bottle's state root"},
		{"containing the state root", filepath.Dir(c.home), "contains claude-bottle's state root"},
		{"the engine socket's folder", filepath.Dir(engineSock), "holds the Docker engine's socket"},
		{"a docker.sock in the folder", withSock, "holds a Docker socket"},
		{"linked git hooks", linked, "--writable-git"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := treeDigest(t, c.home)
			res := c.run(time.Minute, "launch", "cnt-refused", "--repo", repo, "--driver", "buildkit", "--cwd", tc.cwd, "--", "true")
			line := strings.TrimSpace(res.Stderr)
			if res.ExitCode != 2 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "claude-bottle: unsafe working folder: --cwd") || !strings.Contains(line, tc.reason) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and one line saying %q", res.ExitCode, res.Stderr, tc.reason)
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("the refused launch changed the state root")
			}
		})
	}
	if left := testenv.Containers(t, "dev.claude-bottle.slug=cnt-refused"); len(left) != 0 {
		t.Errorf("a refused launch made containers: %v", left)
	}
}

func fileOwner(t *testing.T, path string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// testUser is the non-root host user scripts/setup makes, in the docker
// group.
const testUser = "claude-bottle-test"

// userCLI runs claude-bottle as testUser (setpriv), with a state root,
// TMPDIR and HOME of its own in a folder it owns.
type userCLI struct {
	t        *testing.T
	bin      string
	uid, gid int
	base     string
	env      []string
}

func newUserCLI(t *testing.T) *userCLI {
	t.Helper()
	u, err := user.Lookup(testUser)
	if err != nil {
		testenv.Unavailable(t, "no user %s (scripts/setup makes it): %v", testUser, err)
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "running claude-bottle as %s needs root (setpriv)", testUser)
	}
	uc := &userCLI{t: t, bin: testenv.ClaudeBottle(t)}
	uc.uid, _ = strconv.Atoi(u.Uid)
	uc.gid, _ = strconv.Atoi(u.Gid)
	base, err := os.MkdirTemp("", "cb-contain-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	uc.base = base
	uc.env = []string{"CLAUDE_BOTTLE_HOME=" + uc.dir("state-root"), "TMPDIR=" + uc.dir("tmp"), "HOME=" + uc.dir("home"),
		"CLAUDE_BOTTLE_REPO=", "CLAUDE_BOTTLE_DRIVER=", "BUILDKIT_HOST=", "DOCKER_HOST="}
	return uc
}

// dir makes a folder of the user's under its base.
func (uc *userCLI) dir(name string) string {
	uc.t.Helper()
	d := filepath.Join(uc.base, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		uc.t.Fatal(err)
	}
	uc.chown(d)
	return d
}

// chown gives path and what is in it to the user.
func (uc *userCLI) chown(path string) {
	filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, uc.uid, uc.gid)
		}
		return nil
	})
}

func (uc *userCLI) must(code int, args ...string) testenv.Result {
	uc.t.Helper()
	res := testenv.Run(uc.t, 3*time.Minute, uc.env, "setpriv",
		append([]string{"--reuid=" + strconv.Itoa(uc.uid), "--regid=" + strconv.Itoa(uc.gid), "--init-groups", uc.bin}, args...)...)
	if res.ExitCode != code {
		uc.t.Fatalf("claude-bottle %s (as %s): exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), testUser, res.ExitCode, code, res.Stdout, res.Stderr)
	}
	return res
}

// TestContainNonRootUser launches as a non-root host user on an image
// that declares another user (node, 1000): the agent runs as the host
// user with no capability, its files in the cwd are that user's, it cannot
// make a setuid-root file there (chown root fails), its HOME works, and
// the transcript it writes is snapshotted and restored by --resume.
func TestContainNonRootUser(t *testing.T) {
	testenv.RequireDocker(t)
	uc := newUserCLI(t)
	slug := containSlug(t, "user")
	repo, cwd := uc.dir("repo"), uc.dir("cwd")
	bb, err := os.ReadFile(testenv.BusyboxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "busybox"), bb, 0o755)
	testenv.WriteFiles(t, repo, map[string]string{"Dockerfile": testenv.BusyboxDockerfile, "override.Dockerfile": containDockerfile})
	uc.chown(repo)
	uc.must(0, "state", "set-dockerfile", slug, filepath.Join(repo, "override.Dockerfile"))

	script := capsLine + `echo "id=$(id -u):$(id -g) home=$HOME"
touch made-by-agent
if chown root made-by-agent 2>/dev/null; then echo chown=done; else echo chown=refused; fi
chmod u+s made-by-agent
mkdir -p "$HOME/.claude" && echo remembered > "$HOME/.claude/history.jsonl" && echo memory=written`
	res := uc.must(0, "launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--cwd", cwd, "--", "sh", "-c", script)
	want := map[string]string{
		"id":     fmt.Sprintf("%d:%d home=/home/node", uc.uid, uc.gid),
		"chown":  "refused",
		"memory": "written",
	}
	for key, w := range want {
		if got := outValue(res.Stdout, key); got != w {
			t.Errorf("in the bottle, %s = %q, want %q\nstderr:\n%s", key, got, w, res.Stderr)
		}
	}
	if got := strings.TrimSpace(outValue(res.Stdout, "caps")); got != noCaps {
		t.Errorf("the agent (uid %d) has capabilities: %q", uc.uid, got)
	}
	fi, err := os.Lstat(filepath.Join(cwd, "made-by-agent"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uc.uid || int(st.Gid) != uc.gid {
		t.Errorf("made-by-agent belongs to %d:%d, want %s's %d:%d", st.Uid, st.Gid, testUser, uc.uid, uc.gid)
	}
	if st.Uid == 0 && fi.Mode()&os.ModeSetuid != 0 {
		t.Errorf("the agent made a setuid-root file in the cwd: %v", fi.Mode())
	}
	if !strings.Contains(res.Stderr, "transcript saved: 1 files") {
		t.Errorf("no transcript snapshot:\n%s", res.Stderr)
	}
	res = uc.must(0, "launch", slug, "--repo", repo, "--driver", "buildkit", "--no-build", "--resume", "--",
		"sh", "-c", `cat "$HOME/.claude/history.jsonl"; echo again >> "$HOME/.claude/history.jsonl" && echo append=ok`)
	if !strings.Contains(res.Stdout, "remembered") || outValue(res.Stdout, "append") != "ok" {
		t.Errorf("--resume as %s: the agent could not read and extend its transcript:\n%s\n%s", testUser, res.Stdout, res.Stderr)
	}

	// PID 1 (uid 0, without CAP_KILL) can still pass a signal on to this
	// agent: the agent signals PID 1, which passes it back to the agent.
	res = uc.must(5, "launch", slug, "--repo", repo, "--driver", "buildkit", "--no-build", "--",
		"sh", "-c", `trap 'echo got-term; exit 5' TERM; kill -TERM 1; sleep 10 & wait`)
	if !strings.Contains(res.Stdout, "got-term") {
		t.Errorf("the signal did not reach the agent (uid %d) through PID 1:\n%s\n%s", uc.uid, res.Stdout, res.Stderr)
	}
}

// TestContainForwarder runs a bottle through the launch library with a
// run folder whose bottle.sock the test serves, as the supervisor will:
// an HTTP client in the bottle, which has no network, reaches the host
// only through its proxy variables, PID 1's loopback forwarder and the
// socket, and the host sees the proxy request as sent. With nothing
// serving the socket, the client's connection is closed at once.
func TestContainForwarder(t *testing.T) {
	testenv.RequireDocker(t)
	runDir, err := os.MkdirTemp("", "cb-run-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(runDir) })
	ln, err := net.Listen("unix", filepath.Join(runDir, "bottle.sock"))
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Method + " " + r.RequestURI
		io.WriteString(w, "through-the-socket\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	plan, engine := libraryPlan(t, "cnt-fwd-"+randHex(3))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	// (busybox's wget -T crashes in this build; timeout bounds it instead.)
	ro := launch.RunOptions{
		Cmd:           []string{"sh", "-c", "timeout 30 wget -q -O - http://example.invalid/some/path; echo wget=$?"},
		TranscriptDir: "/home/node/.claude", Stdout: &out, Stderr: &errOut,
		Containment: launch.Containment{Binary: testenv.ClaudeBottle(t), RunDir: runDir},
	}
	res, err := launch.Launch(ctx, launch.PrepareOptions{Plan: plan, Builder: bkBuilder(t, driver.Config{}), Engine: engine}, ro)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Launch = %+v, %v\nstdout %s\nstderr %s", res, err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "through-the-socket") || outValue(out.String(), "wget") != "0" {
		t.Errorf("the bottle's HTTP client did not get the host's answer:\n%s\n%s", out.String(), errOut.String())
	}
	select {
	case got := <-seen:
		if got != "GET http://example.invalid/some/path" {
			t.Errorf("the host saw %q, want the proxy request as sent", got)
		}
	default:
		t.Error("the host's socket saw no request")
	}

	// Nothing serving the socket: closed at once, not hung.
	srv.Close()
	out.Reset()
	ro.Cmd = []string{"sh", "-c", "timeout 30 wget -q -O - http://example.invalid/; echo wget=$?"}
	start := time.Now()
	prep, err := launch.Prepare(ctx, launch.PrepareOptions{Plan: plan, NoBuild: true, Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := prep.Run(ctx, ro); err != nil || res.ExitCode != 0 || outValue(out.String(), "wget") == "0" {
		t.Errorf("with no server: %+v, %v, output %q", res, err, out.String())
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("with no server the client waited %v: the forwarder should close the connection at once", took)
	}
}

// libraryPlan is a plan for a busybox bottle of its own, on a fresh state
// root, and an engine client, for tests of the launch library.
func libraryPlan(t *testing.T, slug string) (*bottle.Plan, *client.Client) {
	t.Helper()
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Bottle(slug)
	if err != nil {
		t.Fatal(err)
	}
	if err := bottle.SetOverride(b, []byte(testenv.BusyboxDockerfile)); err != nil {
		t.Fatal(err)
	}
	plan, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: faultRepo(t, nil), RepoFrom: "test", Driver: "buildkit"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.RemoveImages(t, plan.Image)
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", bottle.ContainerName(slug)) })
	engine, err := launch.Connect("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	return plan, engine
}
