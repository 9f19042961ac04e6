package bottle

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/dockerfile"
)

// files lists every path under root with its content, so a test can prove
// a refused call changed nothing.
func files(t *testing.T, root string) string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		line := p
		if !d.IsDir() {
			data, _ := os.ReadFile(p)
			line += "=" + string(data)
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestSetOverrideRefusesInvalidAndWritesNothing: a Dockerfile that
// dockerfile.Validate refuses is never written, over no override or over
// an existing one, from bytes or from a reader.
func TestSetOverrideRefusesInvalidAndWritesNothing(t *testing.T) {
	cases := []struct{ name, data, want string }{
		{"empty", "", "is empty"},
		{"unknown instruction", "FROM scratch\nFOO bar\n", " line 2: unknown instruction: FOO"},
		{"no FROM", "ARG V=1\n", "no FROM instruction"},
		{"binary", "FROM scratch\n\x00ELF", "is not text"},
		{"over 1 MiB", "FROM scratch\n" + strings.Repeat("# padding\n", dockerfile.MaxSize/10), "bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			b := f.bottle(t, "a")
			check := func(err error, parts ...string) {
				t.Helper()
				if !errors.Is(err, dockerfile.ErrInvalid) {
					t.Fatalf("err = %v, want dockerfile.ErrInvalid", err)
				}
				for _, p := range append(parts, tc.want) {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("error %q does not say %q", err, p)
					}
				}
			}
			check(SetOverride(b, []byte(tc.data)), `bottle "a"`)
			check(SetOverrideFrom(b, strings.NewReader(tc.data), "in.Dockerfile"), "in.Dockerfile")
			rootAbsent(t, f)

			if err := SetOverride(b, []byte("FROM scratch\n")); err != nil {
				t.Fatal(err)
			}
			before := files(t, f.store.Root())
			check(SetOverride(b, []byte(tc.data)))
			check(SetOverrideFrom(b, strings.NewReader(tc.data), "in.Dockerfile"))
			if after := files(t, f.store.Root()); after != before {
				t.Fatalf("a refused Dockerfile changed the store:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestSetOverrideWritesAndRebuilds(t *testing.T) {
	f := newFixture(t)
	b := f.bottle(t, "a")
	if err := SetOverrideFrom(b, strings.NewReader("FROM scratch\nCOPY Dockerfile /\n"), "standard input"); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := b.Override(); string(data) != "FROM scratch\nCOPY Dockerfile /\n" || !ok || err != nil {
		t.Fatalf("Override() = %q, %v, %v", data, ok, err)
	}
	if p := f.resolve(t, Options{Slug: "a", Repo: f.repo}); !p.Rebuilt || p.Image != RebuiltImage("a") || p.Dockerfile != b.DockerfilePath() {
		t.Errorf("plan after SetOverrideFrom = %+v", p)
	}
}

// TestCheckDockerfile: a plan's Dockerfile is checked with its path and
// line; one that went missing after the plan is refused too.
func TestCheckDockerfile(t *testing.T) {
	f := newFixture(t)
	p := f.resolve(t, Options{Slug: "a", Repo: f.repo})
	if err := p.CheckDockerfile(); err != nil {
		t.Fatalf("CheckDockerfile() of a good Dockerfile: %v", err)
	}
	os.WriteFile(p.Dockerfile, []byte("FROM scratch\nCOPZ a b\n"), 0o644)
	if err := p.CheckDockerfile(); !errors.Is(err, dockerfile.ErrInvalid) || !strings.Contains(err.Error(), `"`+p.Dockerfile+`" line 2`) {
		t.Errorf("CheckDockerfile() of a bad Dockerfile = %v", err)
	}
	os.Remove(p.Dockerfile)
	if err := p.CheckDockerfile(); !errors.Is(err, dockerfile.ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckDockerfile() of a missing Dockerfile = %v", err)
	}
}
