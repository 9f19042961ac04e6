//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// Host-side trust (issue 16), bad input: hostile or careless files where
// claude-bottle looks for plugins, config and caches.

// driversByName runs `claude-bottle drivers --format json` with args and
// returns its entries by name.
func driversByName(t *testing.T, c *fcli, args ...string) map[string]map[string]any {
	t.Helper()
	res := c.run(time.Minute, append([]string{"drivers", "--format", "json"}, args...)...)
	if res.ExitCode != 0 {
		t.Fatalf("drivers %v: exit %d\n%s", args, res.ExitCode, res.Stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatalf("drivers --format json: %v\n%s", err, res.Stdout)
	}
	out := map[string]map[string]any{}
	for _, d := range list {
		out[fmt.Sprint(d["name"])] = d
	}
	return out
}

// TestBadInputPathPluginNotRun: `claude-bottle drivers` lists a plugin
// found on $PATH without running it; only `drivers --driver NAME` (or a
// build naming it) runs it. The plugin is a script that leaves a marker
// file when it runs.
func TestBadInputPathPluginNotRun(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	dir := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	script := fmt.Sprintf("#!/bin/sh\ntouch %q\nexec %q \"$@\"\n", marker, faultDriver(t))
	if err := os.WriteFile(filepath.Join(dir, plugins.BinaryName("sneaky")), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c.env = append(c.env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	d, ok := driversByName(t, c)["sneaky"]
	if !ok {
		t.Fatal("drivers does not list the PATH plugin")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("claude-bottle drivers ran a plugin found on PATH that nobody named")
	}
	if d["not_run"] != true || d["ready"] == true {
		t.Errorf("drivers lists the PATH plugin as %v, want not_run", d)
	}
	if d := driversByName(t, c, "--driver", "sneaky")["sneaky"]; d["ready"] != true {
		t.Errorf("drivers --driver sneaky: %v, want it run and ready", d)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("drivers --driver sneaky did not run the plugin it names")
	}
	c.noLeaks(3 * time.Second)
}

// TestBadInputPathFolderGroupWritable: a plugin in a group-writable $PATH
// folder (as root:staff 0775 is) is refused like one in a world-writable
// folder: listed as unusable, and a build through it exits 2.
func TestBadInputPathFolderGroupWritable(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	dir := t.TempDir()
	p := filepath.Join(dir, plugins.BinaryName("grouped"))
	copyFile(t, faultDriver(t), p, 0o755)
	chmod(t, dir, 0o775)
	c.env = append(c.env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	want := []string{dir, "writable by other users (mode 0775)", "chmod go-w"}
	d := driversByName(t, c, "--driver", "grouped")["grouped"]
	for _, w := range want {
		wantContains(t, "drivers' error", fmt.Sprint(d["error"]), w)
	}
	slug := faultSlug(t, "grouped")
	c.setOverride(slug, testenv.BusyboxDockerfile)
	before := treeDigest(t, c.home)
	res := c.run(time.Minute, "build", slug, "--repo", faultRepo(t, nil), "--driver", "grouped", "--progress", "quiet")
	wantError(t, "build through a plugin in a group-writable folder", 2, res.Stderr, res.ExitCode, want...)
	if after := treeDigest(t, c.home); after != before {
		t.Errorf("the refused build changed the state root")
	}
	c.noLeaks(3 * time.Second)
}

// TestBadInputPluginRootUnsafe: a state root that other users can write
// (0777) would let them swap the plugins folder. `plugin install` into it
// is refused, as state writes are; a plugin installed before the root
// became unsafe is listed as unusable and not run.
func TestBadInputPluginRootUnsafe(t *testing.T) {
	testenv.RequireDocker(t)
	want := []string{"writable by other users (mode 0777)", "chmod go-w", "state root"}
	t.Run("install", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		if err := os.MkdirAll(c.home, 0o700); err != nil {
			t.Fatal(err)
		}
		chmod(t, c.home, 0o777)
		before := treeDigest(t, c.home)
		res := c.run(time.Minute, "plugin", "install", faultDriver(t), "--name", "faulty")
		wantError(t, "plugin install into a 0777 root", 2, res.Stderr, res.ExitCode, append([]string{c.home}, want...)...)
		if after := treeDigest(t, c.home); after != before {
			t.Errorf("the refused install changed the root:\n%s\nwas\n%s", after, before)
		}
		c.noLeaks(3 * time.Second)
	})
	t.Run("installed", func(t *testing.T) {
		scenario(t)
		c := newFCLI(t)
		installFault(t, c, "faulty")
		chmod(t, c.home, 0o777)
		d := driversByName(t, c)["faulty"]
		if d["ready"] == true {
			t.Errorf("a plugin under a 0777 root is ready: %v", d)
		}
		for _, w := range want {
			wantContains(t, "drivers' error", fmt.Sprint(d["error"]), w)
		}
		c.noLeaks(3 * time.Second)
	})
}

// markerBin writes an executable script that leaves a marker file when
// run, standing for a binary an attacker wants claude-bottle to execute.
// It returns the script and the marker.
func markerBin(t *testing.T) (bin, marker string) {
	t.Helper()
	dir := t.TempDir()
	bin, marker = filepath.Join(dir, "evil-docker"), filepath.Join(dir, "evil-ran")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+marker+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, marker
}

// TestBadInputConfigUnsafe: a config.toml that another user could have
// written (a symbolic link, mode 0666, or owned by someone else) names an
// evil docker.bin. Build with the docker driver is refused (exit 2, one
// line naming the file and the rule), and the binary never runs.
func TestBadInputConfigUnsafe(t *testing.T) {
	testenv.RequireDocker(t)
	cases := []struct {
		name string
		make func(t *testing.T, cfg, content string)
		want []string
	}{
		{"symlink", func(t *testing.T, cfg, content string) {
			real := filepath.Join(t.TempDir(), "config.toml")
			os.WriteFile(real, []byte(content), 0o600)
			os.Symlink(real, cfg)
		}, []string{"is a symbolic link", "replace it with the file itself"}},
		{"mode 0666", func(t *testing.T, cfg, content string) {
			os.WriteFile(cfg, []byte(content), 0o600)
			chmod(t, cfg, 0o666)
		}, []string{"writable by other users (mode 0666)", "chmod go-w"}},
		{"other owner", func(t *testing.T, cfg, content string) {
			if os.Geteuid() != 0 {
				testenv.Unavailable(t, "giving a file to another user needs root")
			}
			os.WriteFile(cfg, []byte(content), 0o600)
			chown(t, cfg)
		}, []string{"belongs to user 65534", "chown it or remove it"}},
	}
	repo := faultRepo(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "cfgunsafe")
			c.setOverride(slug, testenv.BusyboxDockerfile)
			bin, marker := markerBin(t)
			cfg := filepath.Join(c.home, "config.toml")
			tc.make(t, cfg, "[docker]\nbin = \""+bin+"\"\n")
			before := treeDigest(t, c.home)
			res := c.run(time.Minute, "build", slug, "--repo", repo, "--driver", "docker", "--progress", "quiet")
			wantError(t, "build under an unsafe config.toml", 2, res.Stderr, res.ExitCode, append([]string{cfg}, tc.want...)...)
			if _, err := os.Stat(marker); err == nil {
				t.Error("the docker.bin of an unsafe config.toml ran")
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("the refused build changed the state root")
			}
			c.noLeaks(3 * time.Second)
		})
	}
}

// TestBadInputDetectionCacheEdited: the docker driver keeps what it
// detected in a cache file; editing the file's "path" to another program
// must not make the next commands (drivers, build) run that program.
func TestBadInputDetectionCacheEdited(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	cache := t.TempDir()
	c.env = append(c.env, "XDG_CACHE_HOME="+cache)
	slug := faultSlug(t, "detcache")
	c.setOverride(slug, testenv.BusyboxDockerfile)
	repo := faultRepo(t, nil)
	c.must(0, "drivers", "--driver", "docker")
	files, _ := filepath.Glob(filepath.Join(cache, "claude-bottle", "dockercli", "*.json"))
	if len(files) != 1 {
		t.Fatalf("want one detection cache file, found %v", files)
	}
	bin, marker := markerBin(t)
	var kept map[string]any
	if err := json.Unmarshal([]byte(readFile(t, files[0])), &kept); err != nil {
		t.Fatal(err)
	}
	kept["path"] = bin
	data, _ := json.Marshal(kept)
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.must(0, "drivers", "--driver", "docker")
	c.must(0, "build", slug, "--repo", repo, "--driver", "docker", "--progress", "quiet")
	if _, err := os.Stat(marker); err == nil {
		t.Error("the docker driver ran the binary named in the edited detection cache")
	}
	c.noLeaks(3 * time.Second)
}

// TestBadInputUnsafeRootFresh: a bottle with no state of its own yet, or
// one built from the default repo, in a state root that another user
// could change. Each is refused (exit 2, what to fix) when the plan is
// made, before anything is built, as a bottle that has state already is
// (TestBadInputUnsafeState). plan, build and launch share that step; a
// build here would move the shared claude-bottle:latest tag when it fails.
func TestBadInputUnsafeRootFresh(t *testing.T) {
	testenv.RequireDocker(t)
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "giving a file to another user needs root")
	}
	repo := faultRepo(t, nil)
	cases := []struct {
		name string
		args func(slug string) []string
		make func(t *testing.T, c *fcli, slug string)
		want []string
	}{
		{"fresh bottle in a 0777 root/plan", func(slug string) []string {
			return []string{"plan", slug, "--repo", repo}
		}, func(t *testing.T, c *fcli, _ string) {
			if err := os.MkdirAll(c.home, 0o700); err != nil {
				t.Fatal(err)
			}
			chmod(t, c.home, 0o777)
		}, []string{"writable by other users (mode 0777)", "chmod go-w"}},
		{"default repo owned by another user/plan", func(slug string) []string {
			return []string{"plan", slug}
		}, func(t *testing.T, c *fcli, slug string) {
			c.must(0, "plan", slug) // unpacks the default repo
			chown(t, filepath.Join(c.home, "repo"))
		}, []string{filepath.Join("repo"), "belongs to user 65534", "chown it"}},
		{"default Dockerfile world-writable/plan", func(slug string) []string {
			return []string{"plan", slug}
		}, func(t *testing.T, c *fcli, slug string) {
			c.must(0, "plan", slug)
			chmod(t, filepath.Join(c.home, "repo", "Dockerfile"), 0o666)
		}, []string{"Dockerfile is writable by other users (mode 0666)", "chmod go-w"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "unsaferoot")
			tc.make(t, c, slug)
			before := treeDigest(t, c.home)
			res := c.run(time.Minute, tc.args(slug)...)
			wantError(t, tc.name, 2, res.Stderr, res.ExitCode, append([]string{c.home}, tc.want...)...)
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
				t.Errorf("built %s in an unsafe root", id)
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("changed the unsafe root:\n%s\nwas\n%s", after, before)
			}
			c.noLeaks(3 * time.Second)
		})
	}
}

// TestBadInputSecretNotFile: --secret src= naming a FIFO (which would
// block forever, past Ctrl-C), /dev/zero (which would fill memory) or a
// file over BuildKit's 500 KiB limit. Each build is refused at once
// (exit 2, naming the secret and why) before anything is built.
func TestBadInputSecretNotFile(t *testing.T) {
	testenv.RequireDocker(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 600<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := faultRepo(t, nil)
	for _, tc := range []struct{ name, src, want string }{
		{"fifo", fifo, "is not a regular file (a FIFO)"},
		{"dev-zero", "/dev/zero", "is not a regular file (a character device)"},
		{"600KiB", big, "over BuildKit's limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "secretfile")
			c.setOverride(slug, testenv.BusyboxDockerfile+"RUN --mount=type=secret,id=tok true\n")
			start := time.Now()
			res := c.run(30*time.Second, "build", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--secret", "id=tok,src="+tc.src)
			wantError(t, "--secret src="+tc.name, 2, res.Stderr, res.ExitCode, `secret "tok"`, tc.src, tc.want)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("refusing took %v", d)
			}
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
				t.Errorf("tagged %s", id)
			}
			c.noLeaks(3 * time.Second)
		})
	}
}
