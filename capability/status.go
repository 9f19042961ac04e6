package capability

import (
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// Status is a bottle's capabilities and the state of its override: what
// `capability list`, `plan` and `state show` print.
type Status struct {
	Slug string `json:"slug"`
	// Capabilities are the bottle's capabilities, in order (empty, never
	// nil, for a bottle without any).
	Capabilities []Capability `json:"capabilities"`
	// Base is where the base comes from: SourceRepo or SourceBottle, ""
	// for a bottle with no capabilities.json.
	Base string `json:"base,omitempty"`
	// BasePath is the base Dockerfile's path.
	BasePath string `json:"base_path,omitempty"`
	// RenderedAt is when the override was last rendered.
	RenderedAt *time.Time `json:"rendered_at,omitempty"`
	// Stale is true when the base has changed since the override was
	// rendered; StaleSince is when the base file was changed.
	Stale      bool       `json:"stale"`
	StaleSince *time.Time `json:"stale_since,omitempty"`
	// Problem says why the base could not be read, when it could not.
	Problem string `json:"problem,omitempty"`
	// NeedsBuild is true when the override changed since it was last
	// built (after `capability add --no-build`).
	NeedsBuild bool `json:"needs_build"`
	// Built is the last build of the override, if any.
	Built *Built `json:"built,omitempty"`
}

// Inspect returns a bottle's Status; repo is the bottle's repo root (the
// plan's Repo), for the drift of a repo-based override, or "" to check it
// against the repo Dockerfile it was rendered from. It writes nothing.
func Inspect(store *state.Store, slug, repo string) (*Status, error) {
	b, err := store.Bottle(slug)
	if err != nil {
		return nil, err
	}
	st := &Status{Slug: slug, Capabilities: []Capability{}}
	cur, err := loadFiles(b)
	if err != nil || cur.list == nil {
		return st, err
	}
	l := cur.list
	st.Capabilities = append(st.Capabilities, l.Capabilities...)
	st.Base, st.Built = l.Base.Source, l.Built
	rendered := l.Base.RenderedAt
	st.RenderedAt = &rendered
	if cur.override != nil {
		st.NeedsBuild = l.Built == nil || l.Built.Dockerfile != contentDigest(cur.override)
	}
	if l.Base.Source == SourceRepo && l.layers() == 0 && cur.baseFile == nil {
		return st, nil // no override to go stale: the bottle runs on the repo's image
	}
	base, err := loadBase(b, repo, l)
	if err != nil {
		st.Stale, st.Problem = true, err.Error()
		return st, nil
	}
	st.Base, st.BasePath = base.Source, base.Path
	if base.Digest != l.Base.Digest {
		st.Stale = true
		if !base.ModTime.IsZero() {
			since := base.ModTime
			st.StaleSince = &since
		}
	}
	return st, nil
}

// Hint is the sentence plan, build and launch print about a stale or
// unbuilt override, or "" when there is nothing to say.
func (s *Status) Hint() string {
	switch {
	case s.Stale && s.Problem != "":
		return fmt.Sprintf("the override of bottle %s cannot be checked against its base: %s", s.Slug, s.Problem)
	case s.Stale:
		since := "it was rendered"
		if s.StaleSince != nil {
			since = s.StaleSince.Local().Format(time.DateTime)
		}
		return fmt.Sprintf("stale since %s: the %s changed after the override was rendered on %s; run `claude-bottle capability rebase %s`",
			since, baseWord(s.Base, s.BasePath), s.RenderedAt.Local().Format(time.DateTime), s.Slug)
	case s.NeedsBuild:
		return fmt.Sprintf("the override changed since it was last built; run `claude-bottle build %s`", s.Slug)
	}
	return ""
}

func baseWord(source, path string) string {
	if source == SourceBottle || path == "" {
		return "bottle's base Dockerfile " + path
	}
	return "repo's Dockerfile " + path
}

// PlanView is a bottle's plan with its capabilities and drift: what
// `plan --format json` prints.
type PlanView struct {
	*bottle.Plan
	// Capabilities are the bottle's capabilities, in order.
	Capabilities []Capability `json:"capabilities"`
	// Stale and StaleSince: the base changed since the override was
	// rendered (see Status).
	Stale      bool       `json:"stale"`
	StaleSince *time.Time `json:"stale_since,omitempty"`
	// NeedsBuild: the override changed since it was built.
	NeedsBuild bool `json:"needs_build"`
	// Hint says what to do about a stale or unbuilt override.
	Hint string `json:"hint,omitempty"`
}

// ViewPlan adds a bottle's capabilities and drift to its plan.
func ViewPlan(store *state.Store, p *bottle.Plan) (*PlanView, error) {
	st, err := Inspect(store, p.Slug, p.Repo)
	if err != nil {
		return nil, err
	}
	return &PlanView{Plan: p, Capabilities: st.Capabilities, Stale: st.Stale, StaleSince: st.StaleSince, NeedsBuild: st.NeedsBuild, Hint: st.Hint()}, nil
}

// FileDigest is the content digest capability records of a Dockerfile,
// for MarkBuilt.
func FileDigest(data []byte) string { return contentDigest(data) }
