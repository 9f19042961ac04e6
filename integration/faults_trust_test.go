//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// Host-side trust (issue 16): what a plugin, a config file, a cache or the
// engine connection may do to the user's host.

// TestFaultPluginEnvAllowlist: a driver plugin gets an allow-listed
// environment. The host has ANTHROPIC_API_KEY and GITHUB_TOKEN set; the
// plugin (installed, and the same binary on $PATH) dumps what it sees.
func TestFaultPluginEnvAllowlist(t *testing.T) {
	testenv.RequireDocker(t)
	for _, where := range []string{"installed", "PATH"} {
		t.Run(where, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			name := "faulty"
			if where == "installed" {
				installFault(t, c, name)
			} else {
				name = "pathenv"
				dir := t.TempDir()
				copyFile(t, faultDriver(t), filepath.Join(dir, "claude-bottle-driver-"+name), 0o755)
				c.env = append(c.env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			}
			dump := filepath.Join(t.TempDir(), "env")
			c.env = append(c.env, "ANTHROPIC_API_KEY=sk-ant-faults-secret", "GITHUB_TOKEN=ghp_faults_secret",
				"DOCKER_CONFIG="+filepath.Join(c.home, "docker-config"))
			res := c.run(time.Minute, "drivers", "--driver", name, "--driver-opt", "env-dump="+dump, "--format", "json")
			if res.ExitCode != 0 {
				t.Fatalf("drivers --driver %s: exit %d\n%s", name, res.ExitCode, res.Stderr)
			}
			env := readFile(t, dump)
			if strings.HasPrefix(env, "<") {
				t.Fatalf("the plugin wrote no environment dump: %s\n%s", env, res.Stderr)
			}
			for _, secret := range []string{"ANTHROPIC_API_KEY", "GITHUB_TOKEN", "sk-ant-faults-secret", "ghp_faults_secret"} {
				if strings.Contains(env, secret) {
					t.Errorf("the plugin saw %s in its environment", secret)
				}
			}
			for _, kept := range []string{"PATH=", "HOME=", "DOCKER_CONFIG=", "TMPDIR="} {
				if !containsPrefixLine(env, kept) {
					t.Errorf("the plugin's environment lacks %s (the allowlist keeps it):\n%s", kept, env)
				}
			}
			c.noLeaks(3 * time.Second)
		})
	}
}

// containsPrefixLine reports whether a line of text starts with prefix.
func containsPrefixLine(text, prefix string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestFaultPluginSwappedDuringVerify: an installed plugin's file is
// replaced (renamed over, as an attacker with a window would) while
// claude-bottle is reading it to check its checksum. The check passes on
// what was read; what runs must be that same file, not the one now at the
// path. The swap is driven by inotify: on the first read of the installed
// file, a script that leaves a marker is renamed over it.
func TestFaultPluginSwappedDuringVerify(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	p := installFault(t, c, "faulty")
	marker := filepath.Join(t.TempDir(), "evil-ran")
	evil := filepath.Join(filepath.Dir(p), ".evil")
	script := "#!/bin/sh\ntouch " + marker + "\nexec " + faultDriver(t) + " \"$@\"\n"
	if err := os.WriteFile(evil, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	swapped := swapOnFirstRead(t, p, evil)
	res := c.run(time.Minute, "drivers", "--driver", "faulty", "--format", "json")
	select {
	case err := <-swapped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("claude-bottle never read the installed plugin")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the file swapped in after the checksum was read ran (exit %d)\n%s", res.ExitCode, res.Stderr)
	}
	if res.ExitCode != 0 {
		t.Errorf("drivers: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	// The next start finds the swapped file and refuses it.
	res = c.run(time.Minute, "build", "x", "--driver", "faulty", "--repo", faultRepo(t, nil), "--progress", "quiet")
	wantError(t, "build through the swapped plugin", 2, res.Stderr, res.ExitCode, "has changed since it was installed", "so it was not run")
	if _, err := os.Stat(marker); err == nil {
		t.Error("the swapped plugin ran on the next start")
	}
	c.noLeaks(3 * time.Second)
}

// swapOnFirstRead renames from over path as soon as a process reads path;
// the channel says when it did (or why it could not).
func swapOnFirstRead(t *testing.T, path, from string) <-chan error {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.InotifyAddWatch(fd, path, syscall.IN_ACCESS); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	var once sync.Once
	closeFD := func() { once.Do(func() { syscall.Close(fd) }) }
	t.Cleanup(closeFD)
	done := make(chan error, 1)
	go func() {
		defer closeFD()
		buf := make([]byte, 4096)
		if _, err := syscall.Read(fd, buf); err != nil {
			done <- err
			return
		}
		done <- os.Rename(from, path)
	}()
	return done
}

// TestFaultEnginePlainTCP: the Docker engine reached over plain TCP (a
// proxy on 127.0.0.1 in front of the engine's socket, no TLS). Without
// --docker-insecure every command is refused; with it a build works and
// warns what crosses in cleartext, and --secret is refused.
func TestFaultEnginePlainTCP(t *testing.T) {
	testenv.RequireDocker(t)
	proxy := startEngineProxyTCP(t)
	repo := faultRepo(t, nil)
	secret := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(secret, []byte("s3cr3t-over-tcp"), 0o600); err != nil {
		t.Fatal(err)
	}
	build := func(slug string, extra ...string) []string {
		return append([]string{"build", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--docker-host", proxy.Host}, extra...)
	}
	t.Run("refused", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		slug := faultSlug(t, "tcp")
		c.setOverride(slug, testenv.BusyboxDockerfile)
		for _, args := range [][]string{{"plan", slug, "--docker-host", proxy.Host}, build(slug)} {
			res := c.run(time.Minute, args...)
			wantError(t, args[0]+" over plain TCP", 2, res.Stderr, res.ExitCode, proxy.Host, "plain TCP", "cleartext", "--docker-insecure", "DOCKER_TLS_VERIFY")
		}
		if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
			t.Errorf("a refused build tagged %s", id)
		}
		c.noLeaks(3 * time.Second)
	})
	t.Run("insecure secret refused", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		slug := faultSlug(t, "tcp")
		c.setOverride(slug, testenv.BusyboxDockerfile+"RUN --mount=type=secret,id=tok cat /run/secrets/tok | sha256sum > /h\n")
		res := c.run(time.Minute, build(slug, "--docker-insecure", "--secret", "id=tok,src="+secret)...)
		wantError(t, "--secret over plain TCP", 2, res.Stderr, res.ExitCode, "--secret refused", "not encrypted", "cleartext")
		if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
			t.Errorf("a refused build tagged %s", id)
		}
		c.noLeaks(3 * time.Second)
	})
	t.Run("insecure warns", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		slug := faultSlug(t, "tcp")
		c.setOverride(slug, testenv.BusyboxDockerfile)
		res := c.must(0, build(slug, "--docker-insecure")...)
		var warn string
		for _, l := range strings.Split(res.Stderr, "\n") {
			if strings.Contains(l, "warning:") && strings.Contains(l, proxy.Host) {
				warn = l
			}
		}
		for _, w := range []string{"not encrypted", "the bottle's environment (its API key included)", "registry credentials", "--secret and --ssh are refused"} {
			wantContains(t, "the plain-TCP warning", warn, w)
		}
		if imageID("claude-bottle-rebuilt-"+slug+":latest") == "" {
			t.Error("the build over --docker-insecure tagged nothing")
		}
		c.noLeaks(3 * time.Second)
	})
}

// TestFaultTerminalEscapes: a plugin whose Check error and stderr carry
// terminal escapes (retitle the window, clear the screen, colour). Neither
// `drivers` nor the crash report of a build prints an escape byte.
func TestFaultTerminalEscapes(t *testing.T) {
	testenv.RequireDocker(t)
	t.Run("drivers", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		installFault(t, c, "faulty")
		res := c.run(time.Minute, "drivers", "--driver", "faulty", "--driver-opt", "escape=1")
		if res.ExitCode != 0 {
			t.Fatalf("drivers: exit %d\n%s", res.ExitCode, res.Stderr)
		}
		wantContains(t, "drivers", res.Stdout, `daemon says \x1b]0;pwned\x07\x1b[2J`)
		noEscapes(t, "drivers' stdout", res.Stdout)
		noEscapes(t, "drivers' stderr", res.Stderr)
		c.noLeaks(3 * time.Second)
	})
	t.Run("crash", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		installFault(t, c, "faulty")
		slug := faultSlug(t, "escape")
		c.setOverride(slug, testenv.BusyboxDockerfile)
		res := c.run(time.Minute, "build", slug, "--repo", faultRepo(t, nil), "--driver", "faulty", "--progress", "quiet",
			"--driver-opt", "escape=1", "--driver-opt", "crash-at=start", "--driver-opt", "crash-how=kill")
		wantError(t, "a crashing plugin with escapes", 1, res.Stderr, res.ExitCode, `driver "faulty" crashed`, `\x1b]0;pwned`)
		noEscapes(t, "build's stderr", res.Stderr)
		c.noLeaks(3 * time.Second)
	})
}

// noEscapes fails t if text holds an ESC, BEL or CSI byte.
func noEscapes(t *testing.T, what, text string) {
	t.Helper()
	if i := strings.IndexAny(text, "\x1b\x07\u009b"); i >= 0 {
		t.Errorf("%s holds a raw terminal control at %d: %q", what, i, text[max(0, i-20):min(len(text), i+20)])
	}
}

// TestFaultPluginStall: the fault driver answers the handshake and then
// stops answering, alone, after starting a detached child (setsid), or
// while flooding its stderr. Stalled in setup, a build fails by itself
// when the setup deadline (30 s) passes; stalled in Build, Ctrl-C ends
// the command within 10 s. The plugin process is gone afterwards.
func TestFaultPluginStall(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, where := range []string{"configure", "build"} {
		for _, with := range []string{"alone", "setsid", "flood"} {
			t.Run(where+"/"+with, func(t *testing.T) {
				t.Parallel()
				scenario(t)
				c := newFCLI(t)
				installFault(t, c, "faulty")
				slug := faultSlug(t, "stall")
				c.setOverride(slug, testenv.BusyboxDockerfile)
				p := c.start("build", slug, "--repo", repo, "--driver", "faulty", "--progress", "plain",
					"--driver-opt", "stall="+where, "--driver-opt", "stall-with="+with)
				start := time.Now()
				if where == "build" {
					time.Sleep(3 * time.Second) // the plugin is set up and stalled in Build
					start = time.Now()
					p.signal(syscall.SIGINT)
					code, at := p.wait(10 * time.Second)
					if code != 130 {
						t.Errorf("exit %d after Ctrl-C, want 130\n%s", code, p.stderr())
					}
					t.Logf("exited %v after Ctrl-C", at.Sub(start).Round(time.Millisecond))
				} else {
					code, at := p.wait(45 * time.Second)
					wantError(t, "a plugin stalled in setup", 1, p.stderr(), code, `driver "faulty"`, "did not finish setting up within 30s")
					t.Logf("failed %v after the start", at.Sub(start).Round(time.Millisecond))
				}
				if with == "setsid" {
					// The detached child left its session; it still carries the
					// leak tag. Killing it needs more than a process group.
					c.leak.KillAll()
					knownBug(t, "a plugin's detached (setsid) child outlives it")
				}
				c.noLeaks(5 * time.Second)
			})
		}
	}
}

// TestFaultEngineFrozenDuringLaunch: the engine stops answering (the proxy
// holds every byte, connections stay open) while a bottle runs, then the
// user presses Ctrl-C. Passing the signal on, the SIGKILL after the grace
// and the final removal are each bounded: claude-bottle exits, saying the
// engine did not answer, instead of hanging.
func TestFaultEngineFrozenDuringLaunch(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "frozen")
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
	c.must(0, "build", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet")
	proxy := startEngineProxy(t)
	p := c.start("launch", slug, "--repo", repo, "--no-build", "--docker-host", proxy.Host, "--",
		"sh", "-c", "echo bottle-running; sleep 120")
	p.waitOut(time.Minute, "bottle-running")
	proxy.Freeze()
	start := time.Now()
	p.signal(syscall.SIGINT)
	code, at := p.wait(90 * time.Second)
	took := at.Sub(start)
	t.Logf("exited %d %v after Ctrl-C on a frozen engine: %s", code, took.Round(time.Millisecond), errorLine(p.stderr()))
	if took > 70*time.Second {
		t.Errorf("took %v, want under 70s (grace 10s + kill 5s + 10s + removal 30s)", took)
	}
	if code == 0 {
		t.Errorf("exit 0 on a frozen engine")
	}
	proxy.Cut()
	c.noLeaks(5 * time.Second)
}
