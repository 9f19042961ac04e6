package bottle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/distribution/reference"

	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

const repoDockerfile = "FROM scratch\nCOPY . /src\n"

// fixture is a state root (absent until written) and a repo with a
// Dockerfile.
type fixture struct {
	store *state.Store
	repo  string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte(repoDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	store, err := state.Open(filepath.Join(dir, "home"))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: store, repo: repo}
}

// resolve resolves a plan and checks that it carries the bottle's state;
// the state is then dropped, so tests can compare plans as values.
func (f fixture) resolve(t *testing.T, opts Options) *Plan {
	t.Helper()
	p, err := Resolve(f.store, opts)
	if err != nil {
		t.Fatalf("Resolve(%+v): %v", opts, err)
	}
	if p.State == nil || p.State.Slug() != opts.Slug || p.State.Dir() != filepath.Join(f.store.StateDir(), opts.Slug) {
		t.Fatalf("Resolve(%+v) gave state %+v, want the bottle's own", opts, p.State)
	}
	p.State = nil
	return p
}

func (f fixture) bottle(t *testing.T, slug string) *state.Bottle {
	t.Helper()
	b, err := f.store.Bottle(slug)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rootAbsent fails t if anything was written under the state root.
func rootAbsent(t *testing.T, f fixture) {
	t.Helper()
	if _, err := os.Lstat(f.store.Root()); !errors.Is(err, os.ErrNotExist) {
		entries, _ := os.ReadDir(f.store.Root())
		t.Fatalf("the state root was written (%v): %v", err, entries)
	}
}

// TestPlanOverrideAndReset walks a bottle from the repo's Dockerfile to its
// own override and back.
func TestPlanOverrideAndReset(t *testing.T) {
	f := newFixture(t)
	opts := Options{Slug: "my-agent", Repo: f.repo, RepoFrom: "--repo", Driver: "buildkit", DriverReason: "chosen"}
	p := f.resolve(t, opts)
	want := Plan{Slug: "my-agent", Repo: f.repo, RepoFrom: "--repo", Dockerfile: filepath.Join(f.repo, "Dockerfile"),
		Context: f.repo, Image: "claude-bottle:latest", Driver: "buildkit", DriverReason: "chosen"}
	if *p != want {
		t.Fatalf("plan =\n%+v\nwant\n%+v", *p, want)
	}
	rootAbsent(t, f)

	b := f.bottle(t, "my-agent")
	if err := b.SetOverride([]byte("FROM scratch\nCOPY Dockerfile /\n")); err != nil {
		t.Fatal(err)
	}
	p = f.resolve(t, opts)
	want.Dockerfile, want.Image, want.Rebuilt = b.DockerfilePath(), "claude-bottle-rebuilt-my-agent:latest", true
	if *p != want {
		t.Fatalf("plan with an override =\n%+v\nwant\n%+v", *p, want)
	}
	if r := p.Request(); r.Dockerfile != b.DockerfilePath() || r.ContextDir != f.repo || len(r.Tags) != 1 || r.Tags[0] != want.Image {
		t.Errorf("Request() = %+v", r)
	}
	// The context stays the repo root even when the repo has no Dockerfile.
	os.Remove(filepath.Join(f.repo, "Dockerfile"))
	if p := f.resolve(t, opts); p.Context != f.repo || !p.Rebuilt {
		t.Errorf("override without a repo Dockerfile: %+v", p)
	}
	os.WriteFile(filepath.Join(f.repo, "Dockerfile"), []byte(repoDockerfile), 0o644)

	if err := b.ResetOverride(); err != nil {
		t.Fatal(err)
	}
	p = f.resolve(t, opts)
	want.Dockerfile, want.Image, want.Rebuilt = filepath.Join(f.repo, "Dockerfile"), "claude-bottle:latest", false
	if *p != want {
		t.Fatalf("plan after reset =\n%+v\nwant\n%+v", *p, want)
	}
}

func TestPlanRelativeRepoIsMadeAbsolute(t *testing.T) {
	f := newFixture(t)
	t.Chdir(filepath.Dir(f.repo))
	p := f.resolve(t, Options{Slug: "a", Repo: "repo", RepoFrom: "--repo"})
	if p.Repo != f.repo || p.Context != f.repo || p.Dockerfile != filepath.Join(f.repo, "Dockerfile") {
		t.Fatalf("plan = %+v", p)
	}
}

// TestPlanDefaultRepo: with no repo named, the default bottle context is
// unpacked under <root>/repo/ and used, never the current folder.
func TestPlanDefaultRepo(t *testing.T) {
	f := newFixture(t)
	t.Chdir(f.repo) // a folder with a Dockerfile, which must not be picked up
	p := f.resolve(t, Options{Slug: "a"})
	dir := filepath.Join(f.store.Root(), "repo")
	if p.Repo != dir || p.Context != dir || p.Dockerfile != filepath.Join(dir, "Dockerfile") || p.RepoFrom != "built-in default bottle" || p.Image != BaseImage {
		t.Fatalf("plan = %+v", p)
	}
	want, _ := defaultRepo.ReadFile("defaultrepo/Dockerfile")
	if got, err := os.ReadFile(p.Dockerfile); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("unpacked Dockerfile = %q, %v", got, err)
	}
	if err := dockerfile.Validate("default", want); err != nil {
		t.Errorf("the built-in Dockerfile does not parse: %v", err)
	}
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("default context lacks %s: %v", name, err)
		}
	}
}

func TestUnpackDefault(t *testing.T) {
	root := filepath.Join(t.TempDir(), "home")
	dir, err := UnpackDefault(root)
	if err != nil {
		t.Fatal(err)
	}
	df := filepath.Join(dir, "Dockerfile")
	first, _ := os.Stat(df)
	// Unchanged: not rewritten.
	if _, err := UnpackDefault(root); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(df); !os.SameFile(first, again) {
		t.Error("an unchanged default context was rewritten")
	}
	// Edited by hand: restored to what the binary carries.
	os.WriteFile(df, []byte("FROM evil\n"), 0o644)
	if _, err := UnpackDefault(root); err != nil {
		t.Fatal(err)
	}
	want, _ := defaultRepo.ReadFile("defaultrepo/Dockerfile")
	if got, _ := os.ReadFile(df); !bytes.Equal(got, want) {
		t.Errorf("an edited default context was not restored: %q", got)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".repo-") {
			t.Errorf("temporary %s left in the root", e.Name())
		}
	}
}

// TestUnpackDefaultConcurrent: several commands starting at once on a fresh
// root all get the whole default context.
func TestUnpackDefaultConcurrent(t *testing.T) {
	for range 20 {
		root := filepath.Join(t.TempDir(), "home")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		start := make(chan struct{})
		for range 8 {
			wg.Go(func() {
				<-start
				dir, err := UnpackDefault(root)
				if err == nil {
					// What it returned is there to use at once.
					_, err = os.Stat(filepath.Join(dir, "Dockerfile"))
				}
				if err != nil {
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent UnpackDefault: %v", err)
		}
		if same, err := sameAsEmbedded(filepath.Join(root, "repo")); !same || err != nil {
			t.Fatalf("after concurrent unpacking the context is not whole: %v, %v", same, err)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, f fixture) Options
		class error
		want  []string
	}{
		{"missing repo Dockerfile", func(t *testing.T, f fixture) Options {
			os.Remove(filepath.Join(f.repo, "Dockerfile"))
			return Options{Slug: "a", Repo: f.repo, RepoFrom: "$CLAUDE_BOTTLE_REPO"}
		}, ErrNoDockerfile, []string{"Dockerfile", "$CLAUDE_BOTTLE_REPO", "--repo", "set-dockerfile"}},
		{"repo Dockerfile is a folder", func(t *testing.T, f fixture) Options {
			os.Remove(filepath.Join(f.repo, "Dockerfile"))
			os.Mkdir(filepath.Join(f.repo, "Dockerfile"), 0o755)
			return Options{Slug: "a", Repo: f.repo, RepoFrom: "--repo"}
		}, ErrNoDockerfile, []string{"not a regular file"}},
		{"repo missing", func(t *testing.T, f fixture) Options {
			return Options{Slug: "a", Repo: filepath.Join(f.repo, "nope"), RepoFrom: "--repo"}
		}, ErrNoRepo, []string{"nope", "is not a folder", "--repo DIR"}},
		{"repo is a file", func(t *testing.T, f fixture) Options {
			return Options{Slug: "a", Repo: filepath.Join(f.repo, "Dockerfile"), RepoFrom: "--repo"}
		}, ErrNoRepo, []string{"is not a folder"}},
		{"cwd missing", func(t *testing.T, f fixture) Options {
			return Options{Slug: "a", Repo: f.repo, Cwd: filepath.Join(f.repo, "nope")}
		}, driver.ErrInvalidRequest, []string{"--cwd", "nope", "not a folder"}},
		{"bad slug", func(t *testing.T, f fixture) Options {
			return Options{Slug: "../a", Repo: f.repo}
		}, state.ErrInvalidSlug, []string{`"../a"`}},
		{"bad slug with the default repo", func(t *testing.T, f fixture) Options {
			return Options{Slug: "A"}
		}, state.ErrInvalidSlug, []string{`"A"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p, err := Resolve(f.store, tc.setup(t, f))
			if p != nil || !errors.Is(err, tc.class) {
				t.Fatalf("Resolve = %+v, %v; want %v", p, err, tc.class)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			rootAbsent(t, f)
		})
	}
}

func TestPlanDerivedImage(t *testing.T) {
	f := newFixture(t)
	work := filepath.Join(filepath.Dir(f.repo), "work")
	os.Mkdir(work, 0o755)
	t.Chdir(filepath.Dir(f.repo))
	sum := sha256.Sum256([]byte(work))
	want := "claude-bottle-cwd-my.agent:" + hex.EncodeToString(sum[:])[:12]
	for _, cwd := range []string{work, "work", "./work/", "repo/../work"} {
		p := f.resolve(t, Options{Slug: "my.agent", Repo: f.repo, Cwd: cwd})
		if p.Cwd != work || p.DerivedImage != want {
			t.Errorf("--cwd %q: Cwd %q, DerivedImage %q; want %q, %q", cwd, p.Cwd, p.DerivedImage, work, want)
		}
	}
	if _, err := reference.ParseNormalizedNamed(want); err != nil {
		t.Errorf("derived image %q is not a docker reference: %v", want, err)
	}
	if p := f.resolve(t, Options{Slug: "my.agent", Repo: f.repo, Cwd: f.repo}); p.DerivedImage == want {
		t.Error("two folders share a derived image")
	}
	if p := f.resolve(t, Options{Slug: "my.agent", Repo: f.repo}); p.Cwd != "" || p.DerivedImage != "" {
		t.Errorf("no --cwd but a derived image: %+v", p)
	}
}

func TestPlanShowsTranscript(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "c/f", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644})
	tw.Write([]byte("abc"))
	tw.Close()
	if _, err := f.bottle(t, "a").SaveTranscript(&buf, "bottle:/c", true); err != nil {
		t.Fatal(err)
	}
	p := f.resolve(t, Options{Slug: "a", Repo: f.repo})
	if p.Transcript == nil || p.Transcript.Files != 1 || p.Transcript.Bytes != 3 || p.Transcript.Source != "bottle:/c" {
		t.Fatalf("plan transcript = %+v", p.Transcript)
	}
}
