package request

import (
	"context"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/state"
)

// Suggest records a failure that looks like a missing capability (seen by
// the hook, or a refusal of the egress proxy) as a suggested request: it is
// shown to the operator and waits for nobody. A suggestion for something
// the bottle already has open (asked or suggested, same kind and name) is
// not recorded twice: that request is returned with created false.
func (s *Store) Suggest(ctx context.Context, slug string, sug bottleapi.Suggestion, origin Origin) (r *Request, created bool, err error) {
	if err := sug.Validate(); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	err = s.locked(ctx, slug, func(b *state.Bottle) error {
		open, err := s.open(slug)
		if err != nil {
			return err
		}
		for _, o := range open {
			if o.Kind == sug.Kind && o.Name == sug.Name {
				r = o
				return nil
			}
		}
		if len(open) >= MaxOpen {
			return fmt.Errorf("%w: bottle %s has %d requests waiting for the operator", ErrTooMany, slug, len(open))
		}
		r = &Request{
			Slug: slug, Kind: sug.Kind, State: bottleapi.StateSuggested, Origin: origin, Name: sug.Name,
			Hosts: sug.Hosts, Reason: suggestionReason(sug), CreatedAt: now,
			Evidence: &Evidence{Tool: sug.Tool, Command: sug.Command, Error: sug.Error},
		}
		if r.ID, err = s.newID(); err != nil {
			return err
		}
		created = true
		return s.write(b, r)
	})
	if err != nil {
		return nil, false, err
	}
	return r, created, nil
}

// suggestionReason words a suggestion's reason from its evidence, on one
// line: "Bash failed: jq: command not found".
func suggestionReason(sug bottleapi.Suggestion) string {
	line := ""
	for _, l := range strings.Split(sug.Error, "\n") {
		l = strings.TrimSpace(strings.ReplaceAll(l, "\t", " "))
		if l != "" && !strings.HasPrefix(l, "Exit code") {
			line = l
			break
		}
	}
	if line == "" {
		line = "a failure that looks like a missing " + string(sug.Kind)
	}
	reason := sug.Tool + " failed: " + line
	if len(reason) > bottleapi.MaxReasonLen {
		reason = strings.ToValidUTF8(reason[:bottleapi.MaxReasonLen-3], "") + "..."
	}
	return reason
}
