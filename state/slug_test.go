package state

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

func TestValidateSlugAccepts(t *testing.T) {
	for _, slug := range []string{
		"my-agent", "a", "0", "agent7", "a.b", "a_b", "a__b", "a---b", "a.b_c__d-e",
		"1.2.3", strings.Repeat("a", MaxSlugLen),
	} {
		if err := ValidateSlug(slug); err != nil {
			t.Errorf("ValidateSlug(%q) = %v, want nil", slug, err)
		}
	}
}

// hostileSlugs are names that must never become a path or an image name.
var hostileSlugs = []string{
	"", ".", "..", "../x", "../../etc", "x/..", "a/b", "/abs", "a\\b", "~", "~root",
	"A", "myAgent", "a\x00b", "\x00", ".hidden", "a:b", "a@b", "a b", "a\tb",
	"agent\n", "\nagent", "a\r", "a..b", "a___b", "a._b", "a_.b", "-a", "a-", "_a", "a_", "a.",
	"\u0430gent",  // Cyrillic а, looks like a Latin a
	"\uff41gent",  // fullwidth ａ
	"agent\u200b", // zero-width space
	"caf\u00e9",   // é
	strings.Repeat("a", MaxSlugLen+1),
	strings.Repeat("a", 300),
	strings.Repeat("a", 200) + "/../../x",
	"a%2fb", "$HOME", "a;rm -rf", "*", "a?", "a#b",
}

func TestHostileSlugsRefused(t *testing.T) {
	s := newStore(t)
	for _, slug := range hostileSlugs {
		err := ValidateSlug(slug)
		wantErr(t, err, ErrInvalidSlug, "lowercase letters and digits", "at most 128")
		switch {
		case slug == "":
			wantErr(t, err, ErrInvalidSlug, "empty")
		case len(slug) > MaxSlugLen:
			wantErr(t, err, ErrInvalidSlug, strconv.Quote(slug[:40]+"..."), strconv.Itoa(len(slug))+" characters")
		default:
			wantErr(t, err, ErrInvalidSlug, strconv.Quote(slug))
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("error for %q spans lines: %q", slug, err)
		}
		b, err := s.Bottle(slug)
		if b != nil || !errors.Is(err, ErrInvalidSlug) {
			t.Errorf("Bottle(%q) = %v, %v; want nil, ErrInvalidSlug", slug, b, err)
		}
	}
	if got := tree(t, s.Root()); got != "<absent>" {
		t.Fatalf("refused slugs touched the disk:\n%s", got)
	}
}

// FuzzSlug checks that every accepted slug stays one folder directly under
// <root>/state and makes valid image references, and that every slug that
// is a valid Docker path component of allowed length is accepted.
// Run it longer with: go test ./state -run '^$' -fuzz FuzzSlug -fuzztime 20s
func FuzzSlug(f *testing.F) {
	f.Add("my-agent") // more seeds in testdata/fuzz/FuzzSlug
	store, err := Open("/srv/cb-root")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, slug string) {
		err := ValidateSlug(slug)
		if pathComponent(slug) && len(slug) <= MaxSlugLen && err != nil {
			t.Fatalf("ValidateSlug(%q) refused a valid path component: %v", slug, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidSlug) {
				t.Fatalf("ValidateSlug(%q) error %v is not ErrInvalidSlug", slug, err)
			}
			if _, berr := store.Bottle(slug); berr == nil {
				t.Fatalf("Bottle(%q) accepted a refused slug", slug)
			}
			return
		}
		checkAccepted(t, store, slug)
	})
}

// pathComponent reports whether reference's own grammar takes slug as one
// repository path component (put between two others, so that it can be
// neither a domain nor a tag).
func pathComponent(slug string) bool {
	if strings.Contains(slug, "/") {
		return false
	}
	name := "x/" + slug + "/y"
	ref, err := reference.Parse(name)
	if err != nil {
		return false
	}
	named, ok := ref.(reference.Named)
	_, tagged := ref.(reference.Tagged)
	_, digested := ref.(reference.Digested)
	return ok && named.Name() == name && !tagged && !digested
}

func checkAccepted(t *testing.T, store *Store, slug string) {
	t.Helper()
	if slug == "." || slug == ".." || strings.ContainsAny(slug, "/\\\x00") || len(slug) > MaxSlugLen {
		t.Fatalf("accepted slug %q is a path trick", slug)
	}
	b, err := store.Bottle(slug)
	if err != nil {
		t.Fatalf("Bottle(%q): %v", slug, err)
	}
	state := store.StateDir()
	if filepath.Dir(b.Dir()) != state || filepath.Base(b.Dir()) != slug {
		t.Fatalf("slug %q resolves to %s, not a folder directly in %s", slug, b.Dir(), state)
	}
	if rel, err := filepath.Rel(state, b.DockerfilePath()); err != nil || rel != filepath.Join(slug, DockerfileName) {
		t.Fatalf("slug %q puts the override at %s, outside %s", slug, b.DockerfilePath(), b.Dir())
	}
	// The longest names package bottle makes of a slug (its names_test
	// checks each of them on a table of slugs; here every accepted slug is).
	for _, tag := range []string{"claude-bottle-rebuilt-" + slug + ":previous", "claude-bottle-cwd-" + slug + ":0123456789ab"} {
		ref, err := reference.ParseNormalizedNamed(tag)
		if err != nil {
			t.Fatalf("slug %q makes image %q that is not a docker reference: %v", slug, tag, err)
		}
		if reference.FamiliarString(ref) != tag {
			t.Fatalf("slug %q makes image %q that docker reads as %q", slug, tag, reference.FamiliarString(ref))
		}
	}
}

func BenchmarkValidateSlug(b *testing.B) {
	for _, slug := range []string{"my-agent", strings.Repeat("a", MaxSlugLen), "../x"} {
		b.Run(strconv.Itoa(len(slug)), func(b *testing.B) {
			for b.Loop() {
				_ = ValidateSlug(slug)
			}
		})
	}
}
