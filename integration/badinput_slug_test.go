//go:build linux

package integration

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/state"
)

// badSlugs are slugs that must never become a path or an image name.
// cmd/claude-bottle/cli_test.go runs plan and state with its own list in
// process; these go through build and launch in the real binary.
var badSlugs = []string{
	"..", "../x", "a/b", "/etc", "A", "MyAgent", "a:b", "a@b", "a b", "-a", ".hidden", "a___b", "",
	strings.Repeat("a", 300),
	"\u0430gent",      // Cyrillic a
	"\uff41gent",      // fullwidth a
	"ag\u200bent",     // zero-width space
	"agent\u2024x",    // one dot leader, a look-alike of '.'
	"agent\n",         // newline
	"agent\nnext-one", // newline between two good slugs
}

// TestBadInputSlugs passes each bad slug to build and launch (and to
// build beside a good slug): each is refused with exit 2 and one error
// line naming it, before anything is built, run or written.
func TestBadInputSlugs(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	good := faultSlug(t, "goodslug")
	for _, cmd := range []string{"build", "build-with-good", "launch"} {
		t.Run(cmd, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			if cmd == "build-with-good" {
				c.setOverride(good, testenv.BusyboxDockerfile)
			}
			before := treeDigest(t, c.home)
			for _, slug := range badSlugs {
				var args []string
				switch cmd {
				case "build":
					args = []string{"build", "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--", slug}
				case "build-with-good":
					args = []string{"build", "--repo", repo, "--driver", "buildkit", "--progress", "quiet", "--", good, slug}
				case "launch":
					args = []string{"launch", "--repo", repo, "--driver", "buildkit", "--progress", "quiet", slug, "--", "true"}
				}
				res := c.run(30*time.Second, args...)
				want := []string{"invalid bottle slug", quotedSlug(slug), "lowercase letters and digits"}
				if cmd == "launch" && strings.HasPrefix(slug, "-") {
					// launch SLUG -- CMD: a slug before "--" that starts
					// with '-' is read as a flag.
					want = []string{"unknown shorthand flag"}
				}
				wantError(t, cmd+" "+strconv.Quote(slug), 2, res.Stderr, res.ExitCode, want...)
				if strings.Count(res.Stderr, "\n") != 1 {
					t.Errorf("%s %q: stderr is not one line:\n%s", cmd, slug, res.Stderr)
				}
			}
			if after := treeDigest(t, c.home); after != before {
				t.Errorf("refused slugs changed the state root:\n%s\nwas\n%s", after, before)
			}
			if id := imageID("claude-bottle-rebuilt-" + good + ":latest"); id != "" {
				t.Errorf("a build with a bad slug built the good one: %s", id)
			}
			c.noLeaks(5 * time.Second)
		})
	}
}

// quotedSlug is how an error names a slug: quoted, cut after 40
// characters, or "empty".
func quotedSlug(slug string) string {
	switch {
	case slug == "":
		return "empty"
	case len(slug) > state.MaxSlugLen:
		return strconv.Quote(slug[:40] + "...")
	}
	return strconv.Quote(slug)
}

// TestBadInputSlugNUL checks the one slug argv cannot carry, a NUL byte,
// in the library: the state store and the planner refuse it before any
// path is made.
func TestBadInputSlugNUL(t *testing.T) {
	scenario(t)
	home := filepath.Join(t.TempDir(), "home")
	store, err := state.Open(home)
	if err != nil {
		t.Fatal(err)
	}
	for _, slug := range []string{"a\x00b", "\x00", "agent\x00/../../etc"} {
		if _, err := store.Bottle(slug); !errors.Is(err, state.ErrInvalidSlug) {
			t.Errorf("store.Bottle(%q) = %v, want ErrInvalidSlug", slug, err)
		}
		_, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: t.TempDir(), RepoFrom: "test"})
		if !errors.Is(err, state.ErrInvalidSlug) || !strings.Contains(err.Error(), strconv.Quote(slug)) {
			t.Errorf("bottle.Resolve(%q) = %v, want ErrInvalidSlug quoting it", slug, err)
		}
	}
	if got := treeDigest(t, home); got != "<absent>" {
		t.Errorf("refused slugs wrote:\n%s", got)
	}
}
