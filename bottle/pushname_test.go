package bottle

import (
	"errors"
	"strings"
	"testing"
)

func TestPushName(t *testing.T) {
	for _, tc := range []struct {
		tmpl, slug, image string
		want              string
		err               string
	}{
		{"registry.example:5000/team/{image}:{tag}", "a", "claude-bottle-rebuilt-a:latest", "registry.example:5000/team/claude-bottle-rebuilt-a:latest", ""},
		{"127.0.0.1:5000/ci/{slug}:{tag}", "web", BaseImage, "127.0.0.1:5000/ci/web:latest", ""},
		{"localhost/{image}", "a", BaseImage, "localhost/claude-bottle", ""},
		{"ghcr.io/org/bottles:{slug}", "b-2", RebuiltImage("b-2"), "ghcr.io/org/bottles:b-2", ""},
		{"docker.io/me/{image}:{tag}", "a", BaseImage, "docker.io/me/claude-bottle:latest", ""}, // Docker Hub, named on purpose
		// Refused: each would go to Docker Hub, or is no image name.
		{"team/{image}:{tag}", "a", BaseImage, "", "names no registry"},
		{"{image}:{tag}", "a", BaseImage, "", "names no registry"},
		{"{slug}/x", "a", BaseImage, "", "names no registry"},
		{"reg.example/{name}", "a", BaseImage, "", "unknown placeholder {name}"},
		{"reg.example/{image", "a", BaseImage, "", "unmatched brace"},
		{"reg.example/UPPER/{image}", "a", BaseImage, "", "not an image name"},
		{"reg.example/{image}:bad tag", "a", BaseImage, "", "not an image name"},
		{"", "a", BaseImage, "", "empty"},
	} {
		got, err := PushName(tc.tmpl, tc.slug, tc.image)
		if tc.err != "" {
			if !errors.Is(err, ErrPushName) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("PushName(%q) = %q, %v; want ErrPushName saying %q", tc.tmpl, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("PushName(%q, %q, %q) = %q, %v; want %q", tc.tmpl, tc.slug, tc.image, got, err, tc.want)
		}
	}
}

func TestCheckPushName(t *testing.T) {
	if err := CheckPushName("reg.example/{image}:{tag}"); err != nil {
		t.Error(err)
	}
	if err := CheckPushName("{image}:{tag}"); !errors.Is(err, ErrPushName) {
		t.Errorf("CheckPushName without a registry = %v", err)
	}
}
