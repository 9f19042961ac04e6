package launch

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/inbottle"
)

var testPaths = hostPaths{Binary: "/usr/local/bin/claude-bottle", RunDir: "/run/cb/x", ManagedDir: "/run/cb/x/claude-code"}

// TestContainerConfigHardening: whatever the spec, the container drops
// every capability but PID 1's profile, allows no new privileges, has
// limits, runs PID 1 as root from the read-only binary, and mounts no
// Docker socket.
func TestContainerConfigHardening(t *testing.T) {
	cwd := t.TempDir()
	img := imageDefaults{Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"claude"}, User: "node", Home: "/home/node"}
	specs := map[string]Spec{
		"defaults":     {Slug: "a", Image: "img"},
		"cwd and open": {Slug: "a", Image: "img", Cwd: cwd, Containment: Containment{Network: NetworkOpen, UID: 1000, GID: 1001}},
		"own limits":   {Slug: "a", Image: "img", Containment: Containment{Limits: Limits{Pids: 99, Memory: 1 << 30, CPUs: 0.5}}},
	}
	for name, s := range specs {
		t.Run(name, func(t *testing.T) {
			cfg, host, err := containerConfig(s, testPaths, img)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(host.CapDrop, []string{"ALL"}) {
				t.Errorf("CapDrop = %v, want ALL", host.CapDrop)
			}
			if want := []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "SETPCAP"}; !reflect.DeepEqual(host.CapAdd, want) {
				t.Errorf("CapAdd = %v, want %v", host.CapAdd, want)
			}
			if !slices.Contains(host.SecurityOpt, "no-new-privileges") {
				t.Errorf("SecurityOpt = %v, want no-new-privileges", host.SecurityOpt)
			}
			if host.Privileged || host.Init != nil || host.PidMode != "" || host.IpcMode != "" || len(host.Devices) > 0 {
				t.Errorf("host config gives more than asked: %+v", host)
			}
			if host.PidsLimit == nil || *host.PidsLimit <= 0 || host.Memory <= 0 || host.MemorySwap != host.Memory {
				t.Errorf("limits: pids %v memory %d swap %d", host.PidsLimit, host.Memory, host.MemorySwap)
			}
			if cfg.User != "0:0" || !reflect.DeepEqual([]string(cfg.Entrypoint), []string{bottleapi.BinaryPath}) || cfg.Cmd[0] != inbottle.InitCommand {
				t.Errorf("PID 1: user %q entrypoint %v cmd %v", cfg.User, cfg.Entrypoint, cfg.Cmd)
			}
			for _, m := range host.Mounts {
				if strings.Contains(m.Source, "docker.sock") || strings.Contains(m.Target, "docker.sock") {
					t.Errorf("a Docker socket is mounted: %+v", m)
				}
				if m.Type != mount.TypeBind {
					t.Errorf("mount %+v is not a bind mount", m)
				}
				if m.Target != s.Cwd && !m.ReadOnly {
					t.Errorf("claude-bottle's own mount %s is writable", m.Target)
				}
			}
			if len(host.Binds) > 0 {
				t.Errorf("Binds %v: every mount goes through Mounts, which refuses a missing source", host.Binds)
			}
		})
	}
}

func TestContainerConfigValues(t *testing.T) {
	img := imageDefaults{Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"claude"}, User: "node", Home: "/home/node"}
	s := Spec{Slug: "demo", Image: "img", Env: []string{"K=v"}, Cmd: []string{"sh", "-c", "a -- b"},
		Containment: Containment{Limits: Limits{Pids: 99, Memory: 1 << 30, CPUs: 0.5}, UID: 1000, GID: 1001, UserName: "me"}}
	cfg, host, err := containerConfig(s, testPaths, img)
	if err != nil {
		t.Fatal(err)
	}
	if *host.PidsLimit != 99 || host.Memory != 1<<30 || host.NanoCPUs != 5e8 {
		t.Errorf("limits: pids %d memory %d nanocpus %d", *host.PidsLimit, host.Memory, host.NanoCPUs)
	}
	if host.NetworkMode != "none" {
		t.Errorf("NetworkMode = %q, want none", host.NetworkMode)
	}
	wantCmd := []string{"init", "--uid=1000", "--gid=1001", "--user-name=me", "--image-user=node", "--image-home=/home/node", "--proxy",
		"--", "docker-entrypoint.sh", "sh", "-c", "a -- b"}
	if !reflect.DeepEqual([]string(cfg.Cmd), wantCmd) {
		t.Errorf("Cmd =\n%q\nwant\n%q", cfg.Cmd, wantCmd)
	}
	if !reflect.DeepEqual(cfg.Env, []string{"K=v", "CLAUDE_BOTTLE_SOCKET=/run/claude-bottle/bottle.sock"}) {
		t.Errorf("Env = %q", cfg.Env)
	}
	wantMounts := []mount.Mount{
		{Type: mount.TypeBind, Source: testPaths.Binary, Target: "/opt/claude-bottle/bin/claude-bottle", ReadOnly: true},
		{Type: mount.TypeBind, Source: testPaths.RunDir, Target: "/run/claude-bottle", ReadOnly: true},
		{Type: mount.TypeBind, Source: testPaths.ManagedDir, Target: "/etc/claude-code", ReadOnly: true},
	}
	if !reflect.DeepEqual(host.Mounts, wantMounts) {
		t.Errorf("Mounts =\n%+v\nwant\n%+v", host.Mounts, wantMounts)
	}

	s.Network = NetworkOpen
	cfg, host, _ = containerConfig(s, testPaths, img)
	if host.NetworkMode != "" || slices.Contains(cfg.Cmd, "--proxy") {
		t.Errorf("open network: NetworkMode %q, init %q; want the engine's default and no proxy", host.NetworkMode, cfg.Cmd)
	}
}

// TestMountsGit: the cwd's git configuration and hooks, or a worktree's
// .git file, are mounted read-only over the writable cwd unless
// WritableGit.
func TestMountsGit(t *testing.T) {
	repo, worktree, plain := t.TempDir(), t.TempDir(), t.TempDir()
	mkTree(t, repo, ".git/config", ".git/hooks/", ".git/HEAD")
	mkTree(t, worktree, ".git")
	tests := []struct {
		name     string
		cwd      string
		writable bool
		wantRO   []string
	}{
		{"repository", repo, false, []string{filepath.Join(repo, ".git/config"), filepath.Join(repo, ".git/hooks")}},
		{"repository, writable git", repo, true, nil},
		{"worktree's .git file", worktree, false, []string{filepath.Join(worktree, ".git")}},
		{"no git", plain, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms := mounts(Spec{Cwd: tc.cwd, Containment: Containment{WritableGit: tc.writable}}, testPaths)
			var ro []string
			for _, m := range ms[3:] {
				if m.Target == tc.cwd {
					if m.ReadOnly || m.Source != tc.cwd {
						t.Errorf("cwd mount = %+v, want writable at the same path", m)
					}
					continue
				}
				if !m.ReadOnly || m.Source != m.Target {
					t.Errorf("git mount = %+v, want read-only at the same path", m)
				}
				ro = append(ro, m.Target)
			}
			if !slices.Equal(ro, tc.wantRO) {
				t.Errorf("read-only over the cwd: %q, want %q", ro, tc.wantRO)
			}
		})
	}
}

func TestAgentArgv(t *testing.T) {
	tests := []struct {
		name    string
		img     imageDefaults
		cmd     []string
		want    []string
		wantErr bool
	}{
		{"image CMD", imageDefaults{Cmd: []string{"claude"}}, nil, []string{"claude"}, false},
		{"ENTRYPOINT and CMD", imageDefaults{Entrypoint: []string{"ep", "-x"}, Cmd: []string{"node"}}, nil, []string{"ep", "-x", "node"}, false},
		{"command replaces CMD, keeps ENTRYPOINT", imageDefaults{Entrypoint: []string{"ep"}, Cmd: []string{"node"}}, []string{"sh", "-c", "x"}, []string{"ep", "sh", "-c", "x"}, false},
		{"argv kept exactly", imageDefaults{}, []string{"--", "-x", "", "a b", "--uid=0"}, []string{"--", "-x", "", "a b", "--uid=0"}, false},
		{"nothing to run", imageDefaults{}, nil, nil, true},
	}
	for _, tc := range tests {
		got, err := agentArgv(tc.img, tc.cmd, "img")
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("%s: agentArgv = %q, %v; want %q (error %v)", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

// TestInitArgsRoundTrip: the init command line launch composes is read
// back by PID 1 to the same options, whatever the agent's argv holds.
func TestInitArgsRoundTrip(t *testing.T) {
	img := imageDefaults{User: "node:staff", Home: "/home/node"}
	for _, argv := range [][]string{{"claude"}, {"--", "--proxy", "--uid=7"}, {"sh", "-c", "echo 'a -- b'"}, {""}} {
		s := Spec{Containment: Containment{UID: 501, GID: 20, UserName: "me"}}
		o := initOptions(s, img, argv)
		back, err := inbottle.ParseInitArgs(o.Args()[1:])
		if err != nil || !reflect.DeepEqual(back, o) {
			t.Errorf("argv %q: read back %+v, %v; want %+v", argv, back, err, o)
		}
	}
}

func TestLimitsCheck(t *testing.T) {
	ok := []Limits{{}, DefaultLimits, {Pids: 16, Memory: 16 << 20, CPUs: 0.01}, {CPUs: float64(runtime.NumCPU())}}
	bad := []Limits{{Pids: -1}, {Pids: 3}, {Memory: -1}, {Memory: 1 << 20}, {CPUs: -1}, {CPUs: float64(runtime.NumCPU()) + 1}}
	for _, l := range ok {
		if err := l.Check(); err != nil {
			t.Errorf("Check(%+v) = %v", l, err)
		}
	}
	for _, l := range bad {
		if err := l.Check(); err == nil {
			t.Errorf("Check(%+v) = nil, want an error", l)
		}
	}
	if got := (Limits{}).withDefaults(); got != DefaultLimits {
		t.Errorf("zero limits = %+v, want %+v", got, DefaultLimits)
	}
}

func TestParseNetwork(t *testing.T) {
	for in, want := range map[string]Network{"": NetworkNone, "none": NetworkNone, "open": NetworkOpen} {
		if got, err := ParseNetwork(in); err != nil || got != want {
			t.Errorf("ParseNetwork(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"host", "bridge", "NONE", "container:x"} {
		if _, err := ParseNetwork(in); err == nil {
			t.Errorf("ParseNetwork(%q) accepted", in)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{4 << 30: "4g", 512 << 20: "512m", 3 << 29: "1536m", 1536: "1536", 64 << 10: "64k", 1000: "1000"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// mkTree makes files (and folders, for names ending in /) under dir.
func mkTree(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if strings.HasSuffix(n, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
