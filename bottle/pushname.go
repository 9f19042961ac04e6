package bottle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// Push names are the other half of names.go: the local names above stay as
// they are, engine-wide, and a bottle's image reaches a registry only under
// a name rendered from a template the user chose ([push] name in the
// config, or --push-name). No default template exists, so a push never
// goes to Docker Hub because nobody said where else it should go.

// ErrPushName classes a push name template that cannot name a registry
// image: an unknown placeholder, a name that is not a valid reference, or
// one that names no registry.
var ErrPushName = errors.New("bad push name")

// PushPlaceholders are the placeholders a push name template may hold.
var PushPlaceholders = []string{"{slug}", "{image}", "{tag}"}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// PushName renders the push name template tmpl for bottle slug whose local
// image is image ("claude-bottle-rebuilt-<slug>:latest" or BaseImage):
// {slug} is the slug, {image} the local image's name without its tag and
// {tag} its tag. The result must be a valid image reference whose first
// component names a registry host (it has a dot or a port, or is
// localhost), as docker decides it; a name without one would be pushed to
// Docker Hub, so it is refused.
func PushName(tmpl, slug, image string) (string, error) {
	if strings.TrimSpace(tmpl) == "" {
		return "", fmt.Errorf("%w: the push name template is empty; set one like %q", ErrPushName, "registry.example:5000/team/{image}:{tag}")
	}
	if bad := unknownPlaceholder(tmpl); bad != "" {
		return "", fmt.Errorf("%w: push name %q: unknown placeholder %s (want %s)", ErrPushName, tmpl, bad, strings.Join(PushPlaceholders, ", "))
	}
	name, tag, _ := strings.Cut(image, ":")
	out := strings.NewReplacer("{slug}", slug, "{image}", name, "{tag}", tag).Replace(tmpl)
	if !hasRegistry(out) {
		return "", fmt.Errorf("%w: push name %q (from %q) names no registry, so it would go to Docker Hub; start it with a registry host, like %q", ErrPushName, out, tmpl, "registry.example:5000/"+out)
	}
	if _, err := reference.ParseNormalizedNamed(out); err != nil {
		return "", fmt.Errorf("%w: push name %q (from %q) is not an image name: %v", ErrPushName, out, tmpl, err)
	}
	return out, nil
}

// CheckPushName checks a template without a bottle: its placeholders, and
// that it names a registry. The config file and the flag are checked with
// it before anything is built.
func CheckPushName(tmpl string) error {
	_, err := PushName(tmpl, "slug", "claude-bottle-rebuilt-slug:latest")
	return err
}

func unknownPlaceholder(tmpl string) string {
	for _, p := range placeholder.FindAllString(tmpl, -1) {
		known := false
		for _, k := range PushPlaceholders {
			known = known || p == k
		}
		if !known {
			return p
		}
	}
	if strings.ContainsAny(placeholder.ReplaceAllString(tmpl, ""), "{}") {
		return "(an unmatched brace)"
	}
	return ""
}

// hasRegistry reports whether name's first component is a registry host,
// by docker's rule: it holds a dot or a colon, or is localhost.
func hasRegistry(name string) bool {
	host, rest, ok := strings.Cut(name, "/")
	if !ok || rest == "" {
		return false
	}
	return strings.ContainsAny(host, ".:") || host == "localhost"
}
