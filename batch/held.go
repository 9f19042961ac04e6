package batch

import (
	"context"
	"errors"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/state"
)

// BuildHeld is Build with the capability state of the plans' bottles held
// still while they build (capability.HoldBottles): a capability change
// applied meanwhile waits for the build instead of being overwritten by
// it, and each bottle built is recorded against the override it built, so
// it no longer shows as needing a build. waiting, when not nil, is called
// with a bottle whose lock a change holds, before the build waits for it.
// `claude-bottle build` and the dashboard's rebuild both build this way.
//
// A build is recorded only when it loaded the image into the engine: an
// image sent only to an --output is not the bottle's image.
//
// The error is for a batch Check refuses or a hold that could not be
// taken (nothing was built then); a failed build is in its outcome, and a
// build that could not be recorded has RecordErr set.
func BuildHeld(ctx context.Context, store *state.Store, plans []*bottle.Plan, o Options, waiting func(slug string)) ([]Outcome, error) {
	if err := Check(ctx, plans, o); err != nil {
		return nil, err
	}
	slugs := make([]string, len(plans))
	for i, p := range plans {
		slugs[i] = p.Slug
	}
	hold, err := capability.HoldBottles(ctx, store, slugs, waiting)
	if err != nil {
		return nil, err
	}
	defer hold.Release()
	outs := Build(ctx, plans, o)
	for i, out := range outs {
		if out.OK() && out.Image != "" {
			outs[i].RecordErr = errors.Join(out.RecordErr, hold.Built(out.Slug, out.ImageID, o.User))
		}
	}
	return outs, nil
}
