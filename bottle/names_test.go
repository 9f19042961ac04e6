package bottle

import (
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/claude-bottle/claude-bottle/state"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"base", BaseImage, "claude-bottle:latest"},
		{"tag without override", Tag("my-agent", false), "claude-bottle:latest"},
		{"tag with override", Tag("my-agent", true), "claude-bottle-rebuilt-my-agent:latest"},
		{"rebuilt", RebuiltImage("my.agent"), "claude-bottle-rebuilt-my.agent:latest"},
		{"previous", PreviousImage("my-agent"), "claude-bottle-rebuilt-my-agent:previous"},
		{"pending", PendingImage("my-agent", "0a1b2c3d"), "claude-bottle-rebuilt-my-agent:pending-0a1b2c3d"},
		// printf /work | sha256sum: the tag of a folder never changes.
		{"derived", DerivedImage("my-agent", "/work"), "claude-bottle-cwd-my-agent:0c9a453fad61"},
		{"container", ContainerName("my-agent"), "claude-bottle-my-agent"},
		{"slug label", SlugLabel, "dev.claude-bottle.slug"},
		{"cwd label", CwdLabel, "dev.claude-bottle.cwd"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	if DerivedImage("a", "/x") == DerivedImage("a", "/y") || DerivedImage("a", "/x") == DerivedImage("b", "/x") {
		t.Error("two folders or two bottles share a derived image")
	}
}

// TestNamesAreReferences: every tag made of a valid slug is a Docker
// reference that Docker reads back unchanged, down to the longest slug.
func TestNamesAreReferences(t *testing.T) {
	for _, slug := range []string{"a", "my-agent", "my.agent", "a__b", "a---b", strings.Repeat("x", state.MaxSlugLen)} {
		if err := state.ValidateSlug(slug); err != nil {
			t.Fatalf("test slug %q is invalid: %v", slug, err)
		}
		for _, tag := range []string{Tag(slug, false), Tag(slug, true), PreviousImage(slug), PendingImage(slug, "0a1b2c3d"), DerivedImage(slug, "/some/where")} {
			ref, err := reference.ParseNormalizedNamed(tag)
			if err != nil {
				t.Errorf("slug %q: %q is not a Docker reference: %v", slug, tag, err)
				continue
			}
			if got := reference.FamiliarString(ref); got != tag {
				t.Errorf("slug %q: Docker reads %q as %q", slug, tag, got)
			}
		}
	}
}

func TestTagOfFollowsOverride(t *testing.T) {
	f := newFixture(t)
	b := f.bottle(t, "my-agent")
	if tag, rebuilt, err := TagOf(b); tag != BaseImage || rebuilt || err != nil {
		t.Errorf("TagOf without state = %q, %v, %v", tag, rebuilt, err)
	}
	rootAbsent(t, f)
	if err := b.SetOverride([]byte("FROM scratch\n")); err != nil {
		t.Fatal(err)
	}
	if tag, rebuilt, err := TagOf(b); tag != RebuiltImage("my-agent") || !rebuilt || err != nil {
		t.Errorf("TagOf with an override = %q, %v, %v", tag, rebuilt, err)
	}
	if err := b.ResetOverride(); err != nil {
		t.Fatal(err)
	}
	if tag, rebuilt, err := TagOf(b); tag != BaseImage || rebuilt || err != nil {
		t.Errorf("TagOf after reset = %q, %v, %v", tag, rebuilt, err)
	}
}
