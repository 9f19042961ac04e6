package overview

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// Options say where the overview reads.
type Options struct {
	// Store is the state root.
	Store *state.Store
	// Engine is the Docker engine the bottles run on.
	Engine Engine
	// Repo and RepoFrom name the repo the user named (flag, environment
	// or config), for the drift of repo-based overrides and a bottle's
	// plan; "" checks drift against the repo Dockerfile each override was
	// rendered from, and plans with the built-in default bottle context.
	Repo, RepoFrom string
	// Building, when set, reports builds this process runs that hold no
	// lock (the dashboard's rebuild of a bottle without capabilities).
	Building func(slug string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// List returns one Row a bottle, sorted by slug: every bottle with state,
// and every bottle with a container. A bottle whose files cannot all be
// read gets a row that says so (Problems); the engine failing fails the
// whole list, since no row's status could be told.
func List(ctx context.Context, o Options) ([]Row, error) {
	containers, err := o.Engine.Containers(ctx)
	if err != nil {
		return nil, err
	}
	bySlug := map[string]*ContainerInfo{}
	for i := range containers {
		c := &containers[i]
		slug := c.Labels[bottle.SlugLabel]
		if state.ValidateSlug(slug) != nil {
			continue
		}
		// The bottle's own container is the one of its name; another with
		// its label (a kept one from a test, say) counts only without it.
		if have, ok := bySlug[slug]; ok && have.Name == bottle.ContainerName(slug) {
			continue
		}
		bySlug[slug] = c
	}
	slugs, err := o.Store.List()
	if err != nil {
		return nil, err
	}
	for slug := range bySlug {
		slugs = append(slugs, slug)
	}
	slugs = dedupe(slugs)
	rows := make([]Row, 0, len(slugs))
	for _, slug := range slugs {
		row, err := o.row(ctx, slug, bySlug[slug])
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// One returns the Row of one bottle, as List has it.
func One(ctx context.Context, o Options, slug string) (Row, error) {
	if err := state.ValidateSlug(slug); err != nil {
		return Row{}, err
	}
	rows, err := List(ctx, o)
	if err != nil {
		return Row{}, err
	}
	for _, r := range rows {
		if r.Slug == slug {
			return r, nil
		}
	}
	return Row{}, &NotFoundError{Slug: slug}
}

// NotFoundError is One's error for a bottle with neither state nor a
// container.
type NotFoundError struct{ Slug string }

// Error says which bottle and where to look.
func (e *NotFoundError) Error() string {
	return "no bottle " + e.Slug + ": it has no state and no container; see `claude-bottle ps`"
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// row reads one bottle. Only an engine error is returned; anything else
// that cannot be read is the row's problem.
func (o Options) row(ctx context.Context, slug string, c *ContainerInfo) (Row, error) {
	r := Row{Slug: slug}
	problem := func(err error) {
		if err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
	}
	b, err := o.Store.Bottle(slug)
	if err != nil {
		return r, err // List gives valid slugs only
	}
	if c != nil {
		r.Container = &Container{Name: c.Name, ID: c.ID, State: c.State, Image: c.Image}
		if c.State == "running" && !c.StartedAt.IsZero() {
			at := c.StartedAt
			r.Container.StartedAt = &at
		}
	}
	if err := o.image(ctx, b, &r); err != nil {
		return r, err
	}
	problem(o.capabilities(slug, &r))
	applying, err := o.requests(slug, &r)
	problem(err)
	if info, ok, err := b.Snapshot(); err != nil {
		problem(err)
	} else if ok {
		r.Transcript = &info
	}
	if err := o.cwd(ctx, slug, c, &r); err != nil {
		return r, err
	}
	locked, err := lockHeld(b.FilePath(state.StateLockName))
	problem(err)
	r.Status = o.status(&r, locked || applying)
	return r, nil
}

// image fills the bottle's image: its tag, and the engine's ID and date.
func (o Options) image(ctx context.Context, b *state.Bottle, r *Row) error {
	tag, rebuilt, err := bottle.TagOf(b)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		tag, rebuilt = bottle.Tag(b.Slug(), false), false
	}
	r.Image = Image{Tag: tag, Kind: KindBase}
	if rebuilt {
		r.Image.Kind = KindRebuilt
	}
	info, ok, err := o.Engine.Image(ctx, tag)
	if err != nil || !ok {
		return err
	}
	r.Image.ID = info.ID
	if !info.Created.IsZero() {
		created := info.Created
		r.Image.Created = &created
	}
	return nil
}

// capabilities fills the count and the drift, as `capability list` sees
// them: capability.Inspect against the named repo, or without one against
// the repo Dockerfile the override was rendered from.
func (o Options) capabilities(slug string, r *Row) error {
	st, err := capability.Inspect(o.Store, slug, o.Repo)
	if err != nil {
		return err
	}
	r.Capabilities = len(st.Capabilities)
	r.Drift = Drift{Stale: st.Stale, StaleSince: st.StaleSince, NeedsBuild: st.NeedsBuild, Hint: st.Hint()}
	return nil
}

// requests counts the bottle's open requests, and says whether an
// approved one is being applied. A pending request past its deadline is
// not counted: its requester gave up (it is marked expired when next
// looked at by a decision).
func (o Options) requests(slug string, r *Row) (applying bool, err error) {
	rs, err := request.NewStore(o.Store).List(slug)
	if err != nil {
		return false, err
	}
	now := o.now()
	for _, q := range rs {
		switch {
		case q.State == bottleapi.StatePending && (q.Deadline.IsZero() || now.Before(q.Deadline)):
			r.Pending++
		case q.State == bottleapi.StateSuggested:
			r.Suggested++
		case q.State == bottleapi.StateApplying || q.State == bottleapi.StateApproved:
			applying = true
		}
	}
	return applying, nil
}

// cwd finds the folder the agent works in: the container's (its derived
// image's label, else its working folder), else the newest image layered
// for a folder of the bottle.
func (o Options) cwd(ctx context.Context, slug string, c *ContainerInfo, r *Row) error {
	if c != nil {
		if cwd := c.Labels[bottle.CwdLabel]; cwd != "" {
			r.Cwd, r.CwdFrom = cwd, CwdContainer
			return nil
		}
	}
	repo, _, _ := strings.Cut(bottle.DerivedImage(slug, "/"), ":")
	imgs, err := o.Engine.Images(ctx, repo)
	if err != nil {
		return err
	}
	var newest *ImageInfo
	for i := range imgs {
		if imgs[i].Labels[bottle.CwdLabel] != "" && (newest == nil || imgs[i].Created.After(newest.Created)) {
			newest = &imgs[i]
		}
	}
	if newest != nil {
		r.Cwd, r.CwdFrom = newest.Labels[bottle.CwdLabel], CwdLastImage
	}
	return nil
}

// status says what the bottle does, the first that holds of Building,
// Waiting, Running and Stopped.
func (o Options) status(r *Row, building bool) Status {
	switch {
	case building || (o.Building != nil && o.Building(r.Slug)):
		return Building
	case r.Pending > 0:
		return Waiting
	case r.Container.Running():
		return Running
	}
	return Stopped
}
