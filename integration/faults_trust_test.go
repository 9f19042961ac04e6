//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
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
