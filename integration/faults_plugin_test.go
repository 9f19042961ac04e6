//go:build linux

package integration

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// Driver plugins that crash. integration/plugins_test.go kills the
// example buildah plugin during a RUN through the plugin manager; these
// run the real BuildKit driver inside a plugin (testdata/faultdriver)
// that dies at a chosen point of the build, by SIGKILL or by a panic, and
// kill the built-in buildkit driver's process under `claude-bottle build`.

var (
	faultDriverOnce sync.Once
	faultDriverPath string
	faultDriverErr  error
)

// faultDriver builds testdata/faultdriver once per test binary, as
// claude-bottle-driver-faulty.
func faultDriver(t *testing.T) string {
	t.Helper()
	faultDriverOnce.Do(func() {
		root, err := testenv.RepoRoot()
		if err != nil {
			faultDriverErr = err
			return
		}
		dir, err := os.MkdirTemp("", "cb-faultdriver-")
		if err != nil {
			faultDriverErr = err
			return
		}
		testenv.AtExit(func() { os.RemoveAll(dir) })
		faultDriverPath = filepath.Join(dir, plugins.BinaryName("faulty"))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", faultDriverPath, "./integration/testdata/faultdriver")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			faultDriverErr = fmt.Errorf("go build ./integration/testdata/faultdriver: %v\n%s", err, out)
		}
	})
	if faultDriverErr != nil {
		t.Fatal(faultDriverErr)
	}
	return faultDriverPath
}

// crashPoints are where the fault driver dies, and how.
var (
	crashAt  = []string{"start", "context", "export", "done"}
	crashHow = []string{"kill", "panic"}
)

// crashBound is how soon after a driver's crash the build must fail.
const crashBound = 2 * time.Second

// crashRepo is a repo whose context takes a moment to send (4 MiB that
// do not compress), so "context" is a crash while it is on its way.
func crashRepo(t *testing.T) string {
	t.Helper()
	noise := make([]byte, 4<<20)
	rand.Read(noise)
	return faultRepo(t, map[string]string{
		"Dockerfile": testenv.BusyboxDockerfile + "COPY noise.bin /noise.bin\n",
		"noise.bin":  string(noise),
	})
}

// stampTime reads when the fault driver crashed.
func stampTime(t *testing.T, path string) time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the driver did not crash (no stamp): %v", err)
	}
	ns, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		t.Fatalf("stamp %q: %v", data, err)
	}
	return time.Unix(0, ns)
}

// TestFaultPluginCrash runs builds through the plugin manager, as the CLI
// does, with the fault driver installed by `claude-bottle plugin install`:
// at each point and either way, the build fails within 2 s with a
// CrashError naming the driver (and the panic), buildkitd is left with no
// running solve, nothing is tagged, and the next build through the same
// manager starts a fresh process and works.
func TestFaultPluginCrash(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	c.must(0, "plugin", "install", faultDriver(t))
	// The plugins inherit the tag, and put their sockets in the watched
	// TMPDIR.
	repo := crashRepo(t)
	stamps := t.TempDir() // before TMPDIR moves into the watched folder
	t.Setenv(testenv.LeakTagEnv, c.leak.Tag)
	t.Setenv("TMPDIR", c.leak.TmpDir)
	for _, at := range crashAt {
		for _, how := range crashHow {
			t.Run(at+"/"+how, func(t *testing.T) {
				scenario(t)
				stamp := filepath.Join(stamps, at+"-"+how)
				m := plugins.NewManager(plugins.Options{Home: c.home, Self: c.bin, Config: driver.Config{
					BuildKitAddr: bk.Addr,
					Opts:         map[string]string{"crash-at": at, "crash-how": how, "crash-stamp": stamp},
				}})
				defer m.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				b, err := m.Open(ctx, "faulty")
				if err != nil {
					t.Fatal(err)
				}
				tag := "cb-flt-crash:" + randHex(4)
				testenv.RemoveImages(t, tag)
				req := driver.Request{Dockerfile: filepath.Join(repo, "Dockerfile"), ContextDir: repo, Tags: []string{tag}}
				t0 := time.Now()
				_, err = b.Build(ctx, req, nil)
				returned := time.Now()
				t.Logf("the crashing build took %v", returned.Sub(t0))
				crashed := stampTime(t, stamp)
				if took := returned.Sub(crashed); took > crashBound {
					t.Errorf("the build failed %v after the driver crashed, want under %v", took, crashBound)
				}
				var crash *plugins.CrashError
				if !errors.As(err, &crash) || !errors.Is(err, driver.ErrDriverCrashed) || !strings.Contains(err.Error(), `driver "faulty" crashed`) {
					t.Fatalf("build error = %v, want driver \"faulty\" crashed", err)
				}
				want := map[string]string{"kill": "signal: killed", "panic": "panic: faultdriver panics on purpose"}[how]
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the crash report does not say %q:\n%v", want, err)
				}
				t.Logf("failed %v after the crash: %.200s", returned.Sub(crashed).Round(time.Millisecond), err)
				noActiveBuilds(t, bk, 5*time.Second)
				if id := imageID(tag); id != "" {
					t.Errorf("the crashed build tagged %s", id)
				}
				t0 = time.Now()
				res, err := b.Build(ctx, req, nil)
				if err != nil {
					t.Fatalf("the build after the crash: %v", err)
				}
				t.Logf("the next build took %v", since(t0))
				if id := imageID(tag); id != res.ImageID {
					t.Errorf("after the crash the next build tagged %q, result says %q", id, res.ImageID)
				}
				t0 = time.Now()
				if err := m.Close(); err != nil {
					t.Error(err)
				}
				t.Logf("closing the manager took %v", since(t0))
				c.leak.Check(t, 3*time.Second)
			})
		}
	}
}

// TestFaultPluginCrashCLI is TestFaultPluginCrash through `claude-bottle
// build`: exit 1 within 2 s of the crash naming the driver, nothing tagged,
// the state untouched, no process or socket left, buildkitd idle, and the
// same command run again (the driver no longer crashes) builds the image.
func TestFaultPluginCrashCLI(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	repo := crashRepo(t)
	for _, at := range crashAt {
		for _, how := range crashHow {
			t.Run(at+"/"+how, func(t *testing.T) {
				scenario(t)
				c := newFCLI(t)
				c.must(0, "plugin", "install", faultDriver(t))
				slug := faultSlug(t, "crash")
				c.setOverride(slug, testenv.BusyboxDockerfile+"COPY noise.bin /noise.bin\n")
				before := treeDigest(t, c.home)
				stamp := filepath.Join(t.TempDir(), "crashed")
				args := []string{"build", slug, "--repo", repo, "--driver", "faulty", "--buildkit-addr", bk.Addr, "--progress", "plain",
					"--driver-opt", "crash-at=" + at, "--driver-opt", "crash-how=" + how, "--driver-opt", "crash-stamp=" + stamp}
				p := c.start(args...)
				code, exited := p.wait(time.Minute)
				crashed := stampTime(t, stamp)
				if took := exited.Sub(crashed); took > crashBound {
					t.Errorf("claude-bottle exited %v after the driver crashed, want under %v", took, crashBound)
				}
				wantError(t, "build whose driver crashed", 1, p.stderr(), code, `driver "faulty" crashed`)
				if n := strings.Count(p.stderr(), "panics on purpose"); how == "panic" && n != 1 {
					t.Errorf("the panic is shown %d times, want once (in the error, not also in the log):\n%s", n, p.stderr())
				}
				t.Logf("exit %d %v after the crash: %.200s", code, exited.Sub(crashed).Round(time.Millisecond), errorLine(p.stderr()))
				if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
					t.Errorf("the crashed build tagged %s", id)
				}
				if after := treeDigest(t, c.home); after != before {
					t.Errorf("the crashed build changed the state root:\n%s\nwas\n%s", after, before)
				}
				c.noLeaks(3 * time.Second)
				noActiveBuilds(t, bk, 5*time.Second)
				c.must(0, args...)
				if imageID("claude-bottle-rebuilt-"+slug+":latest") == "" {
					t.Error("the build after the crash tagged nothing")
				}
				c.noLeaks(3 * time.Second)
			})
		}
	}
}

// TestFaultPluginKilledCLI SIGKILLs the built-in buildkit driver's process
// (`claude-bottle __driver-serve buildkit`) while `claude-bottle build` runs
// a RUN through it: exit 1 within 2 s naming the driver, the solve is
// canceled in buildkitd, and the next build works.
func TestFaultPluginKilledCLI(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "killdrv")
	c.setOverride(slug, napDockerfile)
	before := treeDigest(t, c.home)
	args := []string{"build", slug, "--repo", repo, "--driver", "buildkit", "--buildkit-addr", bk.Addr, "--progress", "plain"}
	p := c.start(args...)
	p.waitLine(time.Minute, "napping-now")
	pid := driverProcess(t, c.leak, plugins.BuiltinArg+" buildkit")
	if pid == 0 {
		p.signal(syscall.SIGINT) // leave the shared buildkitd idle
		p.wait(signalBound)
		t.Fatalf("no `%s buildkit` process runs the build: claude-bottle no longer runs its drivers as plugins", plugins.BuiltinArg)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, exited := p.wait(30 * time.Second)
	if took := exited.Sub(killed); took > crashBound {
		t.Errorf("claude-bottle exited %v after its driver was killed, want under %v", took, crashBound)
	}
	wantError(t, "build whose driver was killed", 1, p.stderr(), code, `driver "buildkit" crashed`)
	t.Logf("exit %d %v after the kill: %.200s", code, exited.Sub(killed).Round(time.Millisecond), errorLine(p.stderr()))
	noActiveBuilds(t, bk, 5*time.Second)
	if after := treeDigest(t, c.home); after != before {
		t.Errorf("the crashed build changed the state root:\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(3 * time.Second)
	c.must(0, append(args, "--build-arg", "NAP=0")...)
}

// driverProcess returns the pid of the tagged process whose command line
// holds s, or 0.
func driverProcess(t *testing.T, l *testenv.LeakCheck, s string) int {
	t.Helper()
	procs, err := l.Processes()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if strings.Contains(p.Cmdline, s) {
			return p.PID
		}
	}
	return 0
}

// TestFaultPluginTagPutBack: a driver that tags the image by itself (the
// fault driver lets BuildKit load and tag it) and then fails, panics or is
// killed leaves the tag where it was, as a build that never tagged would:
// on the image of the last good build, or absent if there was none.
func TestFaultPluginTagPutBack(t *testing.T) {
	testenv.RequireDocker(t)
	bk := testenv.Buildkitd(t)
	c := newFCLI(t)
	c.must(0, "plugin", "install", faultDriver(t))
	stamps := t.TempDir()
	hows := []string{"fail", "panic", "kill"}
	// Three Dockerfiles per case, each giving a new image; made before
	// TMPDIR moves into the watched folder.
	repos := map[string][]string{}
	for _, how := range hows {
		for _, step := range []string{"first", "good", "bad"} {
			repos[how] = append(repos[how], faultRepo(t, map[string]string{
				"Dockerfile": testenv.BusyboxDockerfile + "RUN echo " + step + "-" + randHex(4) + " > /marker\n",
			}))
		}
	}
	t.Setenv(testenv.LeakTagEnv, c.leak.Tag)
	t.Setenv("TMPDIR", c.leak.TmpDir)
	for _, how := range hows {
		t.Run(how, func(t *testing.T) {
			scenario(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stamp := filepath.Join(stamps, how)
			m := plugins.NewManager(plugins.Options{Home: c.home, Self: c.bin, Config: driver.Config{
				BuildKitAddr: bk.Addr, Opts: map[string]string{"crash-at": "done", "crash-how": how, "crash-stamp": stamp},
			}})
			defer m.Close()
			b, err := m.Open(ctx, "faulty")
			if err != nil {
				t.Fatal(err)
			}
			tag := "cb-flt-tag:" + randHex(4)
			testenv.RemoveImages(t, tag)
			build := func(step int) error {
				repo := repos[how][step]
				_, err := b.Build(ctx, driver.Request{Dockerfile: filepath.Join(repo, "Dockerfile"), ContextDir: repo, Tags: []string{tag}}, nil)
				return err
			}
			// No tag before: the failed build leaves none.
			if err := build(0); err == nil {
				t.Fatal("the fault driver did not fail the build")
			}
			if id := imageID(tag); id != "" {
				t.Fatalf("the failed build left %s tagged as %s", tag, id)
			}
			// A good build, then a failing one: the tag stays on the good one.
			if err := build(1); err != nil {
				t.Fatalf("the good build (the driver fails once): %v", err)
			}
			good := imageID(tag)
			if good == "" {
				t.Fatal("the good build tagged nothing")
			}
			os.Remove(stamp)
			err = build(2)
			if err == nil {
				t.Fatal("the fault driver did not fail the build")
			}
			t.Logf("build error: %.200s", err)
			if id := imageID(tag); id != good {
				t.Errorf("after the failed build %s is %s, want %s as before it", tag, id, good)
			}
			if err := m.Close(); err != nil {
				t.Error(err)
			}
			c.leak.Check(t, 3*time.Second)
		})
	}
}
