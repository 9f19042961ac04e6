package overview

import (
	"context"
	"slices"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/request"
)

// Detail is everything a bottle's own page shows.
type Detail struct {
	Row
	// Plan is the bottle's plan with its capabilities and drift, as `plan
	// --format json` prints it; nil when it cannot be made (Problems
	// says why).
	Plan *capability.PlanView `json:"plan,omitempty"`
	// Base is where the override's base comes from: capability.SourceRepo
	// or SourceBottle ("" without capabilities), and BasePath its file.
	Base     string `json:"base,omitempty"`
	BasePath string `json:"base_path,omitempty"`
	// Diff is the rendered override as a unified diff against its base,
	// "" when the bottle builds its base as it is.
	Diff string `json:"diff"`
	// CapabilityList is the bottle's capabilities, in order.
	CapabilityList []capability.Capability `json:"capability_list"`
	// Audit is the bottle's audit log, newest first.
	Audit []capability.Entry `json:"audit"`
	// Requests are the bottle's requests, newest first.
	Requests []*request.Request `json:"requests"`
	// LastBuild is the last build the dashboard ran of the bottle, if any.
	LastBuild *BuildLog `json:"last_build,omitempty"`
}

// DetailOptions add to Options what a bottle's page shows of its plan.
type DetailOptions struct {
	Options
	// Driver and DriverReason are the driver its builds use and why.
	Driver, DriverReason string
}

// Bottle returns the Detail of one bottle.
func Bottle(ctx context.Context, o DetailOptions, slug string) (*Detail, error) {
	row, err := One(ctx, o.Options, slug)
	if err != nil {
		return nil, err
	}
	d := &Detail{Row: row, CapabilityList: []capability.Capability{}, Audit: []capability.Entry{}, Requests: []*request.Request{}}
	problem := func(err error) {
		if err != nil {
			d.Problems = append(d.Problems, err.Error())
		}
	}
	p, err := bottle.Resolve(o.Store, bottle.Options{Slug: slug, Repo: o.Repo, RepoFrom: o.RepoFrom, Driver: o.Driver, DriverReason: o.DriverReason})
	problem(err)
	if p != nil {
		d.Plan, err = capability.ViewPlan(o.Store, p)
		problem(err)
	}
	if st, err := capability.Inspect(o.Store, slug, o.Repo); err != nil {
		problem(err)
	} else {
		d.CapabilityList, d.Base, d.BasePath = st.Capabilities, st.Base, st.BasePath
	}
	d.Diff, err = capability.Show(o.Store, slug, o.Repo)
	problem(err)
	if log, err := capability.Log(o.Store, slug); err != nil {
		problem(err)
	} else if log != nil {
		slices.Reverse(log)
		d.Audit = log
	}
	if rs, err := request.NewStore(o.Store).List(slug); err != nil {
		problem(err)
	} else {
		slices.Reverse(rs)
		d.Requests = rs
	}
	d.LastBuild, err = LastBuild(o.Store, slug)
	problem(err)
	return d, nil
}
