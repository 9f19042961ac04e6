//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// badDriver is one way claude-bottle builds, for the tables below.
type badDriver struct {
	name string
	args func(t *testing.T) []string
}

// badDrivers are the drivers every bad Dockerfile goes through.
var badDrivers = []badDriver{
	{"buildkit-engine", func(*testing.T) []string { return []string{"--driver", "buildkit"} }},
	{"buildkit-standalone", func(t *testing.T) []string {
		return []string{"--driver", "buildkit", "--buildkit-addr", testenv.Buildkitd(t).Addr}
	}},
	{"docker", func(*testing.T) []string { return []string{"--driver", "docker", "--docker-bin", testenv.DockerCLI()} }},
}

// bigBadDockerfile is 10 MB of comments with an unknown instruction on its
// last line, and that line's number.
func bigBadDockerfile() (string, int) {
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	line := 1
	for b.Len() < 10<<20 {
		b.WriteString("# padding padding padding padding padding padding padding\n")
		line++
	}
	b.WriteString("FROBNICATE now\n")
	return b.String(), line + 1
}

// badDockerfiles are Dockerfiles a bottle may hold (edited by hand, so
// set-dockerfile's checks never saw them). code and want are what every
// driver must answer; bugs names the drivers that do not yet, and why.
var badDockerfiles = func() []struct {
	name    string
	content string
	code    int
	want    []string
	bugs    map[string]string
} {
	big, bigLine := bigBadDockerfile()
	missing := "cb-missing-base-" + randHex(4)
	return []struct {
		name    string
		content string
		code    int
		want    []string
		bugs    map[string]string
	}{
		{"empty", "", 2, []string{"invalid Dockerfile", "empty"}, nil},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00\x00FROM scratch\n", 2, []string{"invalid Dockerfile", "line 1"}, nil},
		{"10 MB, bad last line", big, 2, []string{"invalid Dockerfile", fmt.Sprintf("line %d", bigLine), "FROBNICATE"}, nil},
		{"unknown instruction", "FROM scratch\nCOPY busybox /bin/busybox\nFROBNICATE now\n", 2, []string{"invalid Dockerfile", "line 3", "FROBNICATE"}, nil},
		{"unterminated heredoc", "FROM scratch\nRUN <<EOF\necho never ends\n", 2, []string{"invalid Dockerfile", "line 2", "unterminated heredoc"}, nil},
		{"FROM a missing image, no registry", "FROM " + missing + ":latest\nRUN true\n", 1, []string{missing, "line 1"}, map[string]string{
			"buildkit-engine":     "a FROM whose image cannot be found names the image but not the Dockerfile line",
			"buildkit-standalone": "a FROM whose image cannot be found names the image but not the Dockerfile line",
			"docker":              "a FROM whose image cannot be found names the image but not the Dockerfile line",
		}},
	}
}()

// TestBadInputDockerfiles builds each bad Dockerfile as a bottle's
// override with each driver: the build fails with the right exit code and
// an error naming the Dockerfile and its line, nothing is tagged, the
// state is untouched and nothing is left running. A case a driver does
// not meet yet checks the rest, then skips as a known bug.
func TestBadInputDockerfiles(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, d := range badDrivers {
		for _, tc := range badDockerfiles {
			t.Run(d.name+"/"+tc.name, func(t *testing.T) {
				scenario(t)
				c := newFCLI(t)
				slug := faultSlug(t, "baddf")
				c.setOverride(slug, testenv.BusyboxDockerfile)
				df := filepath.Join(c.home, "state", slug, "Dockerfile")
				if err := os.WriteFile(df, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
				before := treeDigest(t, c.home)
				args := append([]string{"build", slug, "--repo", repo, "--progress", "quiet"}, d.args(t)...)
				res := c.run(2*time.Minute, args...)
				t.Logf("exit %d: %.300s", res.ExitCode, errorLine(res.Stderr))
				if res.ExitCode == 0 {
					t.Fatalf("the bad Dockerfile built:\n%s", res.Stdout)
				}
				if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
					t.Errorf("the failed build tagged %s", id)
				}
				if after := treeDigest(t, c.home); after != before {
					t.Errorf("the failed build changed the state root:\n%s\nwas\n%s", after, before)
				}
				c.noLeaks(5 * time.Second)
				if bug := tc.bugs[d.name]; bug != "" {
					knownBug(t, bug)
				}
				wantError(t, "build", tc.code, res.Stderr, res.ExitCode, append([]string{df}, tc.want...)...)
			})
		}
	}
}
