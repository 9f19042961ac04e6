//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// badConfigs are config.toml files with an unknown key or a bad value,
// and what the error must name: the file's line and the key.
var badConfigs = []struct {
	name, content string
	want          []string // beside the file's path
	bug           string
}{
	{"unknown key", "repo = \"/x\"\nbogus = 1\n", []string{"config.toml:2:", `unknown key "bogus"`, "known keys"}, ""},
	{"unknown nested key", "[buildkit]\nadress = \"unix:///x\"\n", []string{"config.toml:2:", `unknown key "buildkit.adress"`}, ""},
	{"unknown table", "# settings\n[dockr]\nhost = \"x\"\n", []string{"config.toml:2:", `unknown key "dockr"`}, ""},
	{"string wanted", "driver = 3\n", []string{"config.toml:1:", `key "driver"`}, ""},
	{"bool wanted", "[buildkit]\ninsecure = \"yes\"\n", []string{"config.toml:2:", `key "buildkit.insecure"`}, ""},
	{"array given", "[docker]\nbin = [\"docker\"]\n", []string{"config.toml:2:", `key "docker.bin"`}, ""},
	{"bad address", "# c\n[buildkit]\naddr = \"http://x\"\n", []string{"config.toml:3:", `key "buildkit.addr"`, "want unix://"}, ""},
	{"relative transcript_dir", "[launch]\ntranscript_dir = \"rel\"\n", []string{"config.toml:2:", `key "launch.transcript_dir"`, "absolute path"}, ""},
	{"duplicate key", "driver = \"buildkit\"\ndriver = \"docker\"\n", []string{"config.toml:2:", `key "driver"`, "already defined"}, ""},
	{"syntax error", "repo =\n", []string{"config.toml:1:"}, ""},
	{"unknown driver", "\ndriver = \"nosuch\"\n", []string{"config.toml:2:", `key "driver"`, `"nosuch"`}, ""},
}

// TestBadInputConfig runs build and launch under each bad config.toml:
// exit 2, one error line naming the file, the line and the key, and
// nothing built, run or written.
func TestBadInputConfig(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, tc := range badConfigs {
		for _, cmd := range []string{"build", "launch"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				scenario(t)
				c := newFCLI(t)
				slug := faultSlug(t, "badcfg")
				c.setOverride(slug, testenv.BusyboxDockerfile)
				cfg := filepath.Join(c.home, "config.toml")
				if err := os.WriteFile(cfg, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				before := treeDigest(t, c.home)
				args := []string{cmd, slug, "--repo", repo, "--progress", "quiet"}
				if cmd == "launch" {
					args = append(args, "--", "true")
				}
				res := c.run(time.Minute, args...)
				t.Logf("exit %d: %s", res.ExitCode, errorLine(res.Stderr))
				if res.ExitCode == 0 {
					t.Fatalf("%s ran under a bad config.toml", cmd)
				}
				if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
					t.Errorf("%s under a bad config.toml built %s", cmd, id)
				}
				if after := treeDigest(t, c.home); after != before {
					t.Errorf("%s under a bad config.toml changed the state root:\n%s\nwas\n%s", cmd, after, before)
				}
				c.noLeaks(5 * time.Second)
				if tc.bug != "" {
					knownBug(t, tc.bug)
				}
				wantError(t, cmd, 2, res.Stderr, res.ExitCode, append([]string{cfg}, tc.want...)...)
			})
		}
	}
}
