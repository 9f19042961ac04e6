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

// otherUID is a user that is neither root nor us (nobody on Debian).
const otherUID = 65534

// unsafeCases make a bottle's state unsafe in one way: another user could
// choose what the bottle builds. Each says what the error must tell the
// user to do.
var unsafeCases = []struct {
	name string
	make func(t *testing.T, home, slug string)
	want []string
}{
	{"bottle folder is a symlink", func(t *testing.T, home, slug string) {
		moveAndLink(t, filepath.Join(home, "state", slug))
	}, []string{"is a symbolic link", "replace it with a real folder"}},
	{"state folder is a symlink", func(t *testing.T, home, slug string) {
		moveAndLink(t, filepath.Join(home, "state"))
	}, []string{"is a symbolic link", "replace it with a real folder"}},
	{"state root is a symlink", func(t *testing.T, home, slug string) {
		moveAndLink(t, home)
	}, []string{"is a symbolic link", "replace it with a real folder"}},
	{"Dockerfile is a symlink", func(t *testing.T, home, slug string) {
		moveAndLink(t, filepath.Join(home, "state", slug, "Dockerfile"))
	}, []string{"is not a regular file", "claude-bottle state reset " + "SLUG"}},
	{"Dockerfile owned by another user", func(t *testing.T, home, slug string) {
		chown(t, filepath.Join(home, "state", slug, "Dockerfile"))
	}, []string{"belongs to user 65534", "chown it or remove it"}},
	{"bottle folder owned by another user", func(t *testing.T, home, slug string) {
		chown(t, filepath.Join(home, "state", slug))
	}, []string{"belongs to user 65534", "chown it"}},
	{"Dockerfile world-writable", func(t *testing.T, home, slug string) {
		chmod(t, filepath.Join(home, "state", slug, "Dockerfile"), 0o666)
	}, []string{"writable by other users (mode 0666)", "chmod go-w"}},
	{"bottle folder world-writable", func(t *testing.T, home, slug string) {
		chmod(t, filepath.Join(home, "state", slug), 0o777)
	}, []string{"writable by other users (mode 0777)", "chmod go-w"}},
	{"state folder group-writable", func(t *testing.T, home, slug string) {
		chmod(t, filepath.Join(home, "state"), 0o770)
	}, []string{"writable by other users (mode 0770)", "chmod go-w"}},
}

// TestBadInputUnsafeState makes a bottle's state unsafe in each way and
// runs build and launch on it: each is refused with exit 2 and a message
// that says what to fix, before anything is built or run, and the state
// is left as it was.
func TestBadInputUnsafeState(t *testing.T) {
	testenv.RequireDocker(t)
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "giving a file to another user needs root")
	}
	repo := faultRepo(t, nil)
	for _, tc := range unsafeCases {
		for _, cmd := range []string{"build", "launch"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				scenario(t)
				c := newFCLI(t)
				slug := faultSlug(t, "unsafe")
				t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
				c.setOverride(slug, testenv.BusyboxDockerfile+"RUN echo built > /built\n")
				tc.make(t, c.home, slug)
				before := treeDigest(t, filepath.Dir(c.home))
				args := []string{cmd, slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet"}
				if cmd == "launch" {
					args = append(args, "--", "true")
				}
				res := c.run(time.Minute, args...)
				want := make([]string, len(tc.want))
				for i, w := range tc.want {
					want[i] = strings.ReplaceAll(w, "SLUG", slug)
				}
				wantError(t, cmd, 2, res.Stderr, res.ExitCode, want...)
				t.Logf("%s", errorLine(res.Stderr))
				if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
					t.Errorf("%s on unsafe state built %s", cmd, id)
				}
				if left := testenv.Containers(t, "dev.claude-bottle.slug="+slug); len(left) != 0 {
					t.Errorf("%s on unsafe state made containers %v", cmd, left)
				}
				if after := treeDigest(t, filepath.Dir(c.home)); after != before {
					t.Errorf("%s on unsafe state changed it:\n%s\nwas\n%s", cmd, after, before)
				}
				c.noLeaks(5 * time.Second)
			})
		}
	}
}

// moveAndLink moves path aside (to path+".real") and puts a symbolic link
// to it in its place, so the content stays the same.
func moveAndLink(t *testing.T, path string) {
	t.Helper()
	if err := os.Rename(path, path+".real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(path)+".real", path); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
