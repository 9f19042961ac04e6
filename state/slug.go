package state

import (
	"errors"
	"fmt"
	"regexp"
)

// MaxSlugLen is the longest slug accepted: a Docker repository path
// component may be no longer.
const MaxSlugLen = 128

// slugPattern is the grammar of one Docker repository path component:
// lowercase letters and digits, separated by a single '.', a single or
// double '_', or a run of '-'.
var slugPattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)

// ErrInvalidSlug classes every refused slug.
var ErrInvalidSlug = errors.New("invalid bottle slug")

// slugRule is said in every slug error so the user knows what to type.
const slugRule = "a slug is lowercase letters and digits, joined by single '.' or '_', double '__' or runs of '-', at most 128 characters, like \"my-agent\""

// ValidateSlug checks that slug names a bottle. It is called before a slug
// becomes part of any path or image name.
func ValidateSlug(slug string) error {
	switch {
	case slug == "":
		return fmt.Errorf("%w: the slug is empty; %s", ErrInvalidSlug, slugRule)
	case len(slug) > MaxSlugLen:
		return fmt.Errorf("%w: %q is %d characters long; %s", ErrInvalidSlug, truncate(slug), len(slug), slugRule)
	case !slugPattern.MatchString(slug):
		return fmt.Errorf("%w: %q; %s", ErrInvalidSlug, slug, slugRule)
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "..."
}
