//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// badPlugins put a broken driver plugin where discovery finds it: in the
// plugins folder (installed, then broken, as a user's hands or a failed
// copy would) or on $PATH. want is what `claude-bottle drivers` and a build
// through it must say about it. integration/plugins_test.go covers what
// `plugin install` refuses; these are found at discovery time.
var badPlugins = []struct {
	name string
	make func(t *testing.T, c *fcli, pathDir string)
	want []string
}{
	{"noexec", func(t *testing.T, c *fcli, _ string) {
		chmod(t, installFault(t, c, "noexec"), 0o644)
	}, []string{"is not executable", "chmod +x"}},
	{"dir", func(t *testing.T, c *fcli, _ string) {
		p := installFault(t, c, "dir")
		os.Remove(p)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
	}, []string{"is a directory, not a plugin executable", "remove it or rename it"}},
	{"byhand", func(t *testing.T, c *fcli, _ string) {
		installFault(t, c, "other") // makes the plugins folder as install does
		copyFile(t, faultDriver(t), filepath.Join(c.home, "plugins", plugins.BinaryName("byhand")), 0o755)
	}, []string{"put in the plugins folder by hand", "no checksum is recorded", "claude-bottle plugin install"}},
	{"tampered", func(t *testing.T, c *fcli, _ string) {
		p := installFault(t, c, "tampered")
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("\x00appended"))
		f.Close()
	}, []string{"checksum mismatch", "has changed since it was installed", "so it was not run", "reinstall it"}},
	{"notplugin", func(t *testing.T, c *fcli, pathDir string) {
		copyFile(t, testenv.BusyboxPath(t), filepath.Join(pathDir, plugins.BinaryName("notplugin")), 0o755)
	}, []string{"is not a claude-bottle driver plugin", "without the plugin handshake", "applet not found"}},
	{"v99", func(t *testing.T, c *fcli, pathDir string) {
		script := "#!/bin/sh\nCB_FAULT_MODE=v99 exec " + faultDriver(t) + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(pathDir, plugins.BinaryName("v99")), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}, []string{"speaks driver protocol version 99", "this claude-bottle speaks version 1"}},
}

// TestBadInputPlugins breaks a plugin in each way: `claude-bottle drivers`
// still works (exit 0) and lists it as unusable, saying why and what to
// do; a build through it is refused
// (exit 2) with the same words, and nothing is built or left running.
func TestBadInputPlugins(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, tc := range badPlugins {
		t.Run(tc.name, func(t *testing.T) {
			c := newFCLI(t)
			pathDir := t.TempDir()
			c.env = append(c.env, "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			tc.make(t, c, pathDir)
			plugin := filepath.Join(c.home, "plugins", plugins.BinaryName(tc.name))
			if _, err := os.Lstat(plugin); err != nil {
				plugin = filepath.Join(pathDir, plugins.BinaryName(tc.name))
			}
			want := append([]string{plugin}, tc.want...)
			t.Run("drivers", func(t *testing.T) {
				scenario(t)
				badPluginListed(t, c, tc.name, plugin, want)
				c.leak.Check(t, 3*time.Second)
			})
			t.Run("build", func(t *testing.T) {
				scenario(t)
				slug := faultSlug(t, "badplugin")
				c.setOverride(slug, testenv.BusyboxDockerfile)
				before := treeDigest(t, c.home)
				res := c.run(time.Minute, "build", slug, "--repo", repo, "--driver", tc.name, "--progress", "quiet")
				wantError(t, "build through "+tc.name, 2, res.Stderr, res.ExitCode, want...)
				t.Logf("exit %d: %.250s", res.ExitCode, errorLine(res.Stderr))
				if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
					t.Errorf("a build through a broken plugin tagged %s", id)
				}
				if after := treeDigest(t, c.home); after != before {
					t.Errorf("a build through a broken plugin changed the state root:\n%s\nwas\n%s", after, before)
				}
				c.leak.Check(t, 3*time.Second)
			})
		})
	}
}

// badPluginListed checks that `claude-bottle drivers` works and lists the
// plugin name at path as unusable, its error saying each of want.
func badPluginListed(t *testing.T, c *fcli, name, path string, want []string) {
	t.Helper()
	args := []string{"drivers", "--format", "json"}
	if !strings.HasPrefix(path, c.home) {
		args = append(args, "--driver", name) // a PATH plugin runs only when named
	}
	res := c.run(time.Minute, args...)
	if res.ExitCode != 0 {
		t.Fatalf("drivers with a broken plugin: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	var list []struct {
		Name, Path, Error string
		Ready             bool
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil {
		t.Fatalf("drivers --format json: %v\n%s", err, res.Stdout)
	}
	for _, d := range list {
		if d.Name != name {
			continue
		}
		if d.Ready || d.Path != path {
			t.Errorf("drivers lists %s as ready=%v at %q, want unusable at %q", name, d.Ready, d.Path, path)
		}
		for _, w := range want {
			wantContains(t, "drivers' error for "+name, d.Error, w)
		}
		return
	}
	t.Fatalf("drivers does not list %s:\n%s", name, res.Stdout)
}

// installFault installs the fault driver under name with `claude-bottle
// plugin install` and returns the installed file.
func installFault(t *testing.T, c *fcli, name string) string {
	t.Helper()
	c.must(0, "plugin", "install", faultDriver(t), "--name", name)
	return filepath.Join(c.home, "plugins", plugins.BinaryName(name))
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
