package capability

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// Rollback goes back one step: the bottle's list, override and tag
// return together to what they were before the last change, and that
// change is saved in turn, so a second Rollback goes forward again. It
// needs o.Store, o.Plan and o.Engine; nothing is built. If the image the
// bottle ran on then is gone from the engine, nothing is changed.
func Rollback(ctx context.Context, o Options) (*Result, error) {
	o = o.withDefaults()
	if o.Store == nil || o.Plan == nil || o.Engine == nil {
		return nil, fmt.Errorf("capability: Rollback needs a Store, a Plan and an Engine")
	}
	b, err := o.Store.Bottle(o.Plan.Slug)
	if err != nil {
		return nil, err
	}
	if exists, err := b.Exists(); err != nil {
		return nil, err
	} else if !exists {
		return nil, fmt.Errorf("%w: bottle %q has no state, so no earlier state to go back to", ErrNothingToRollBack, b.Slug())
	}
	unlock, err := b.LockState(ctx, o.Waiting)
	if err != nil {
		return nil, err
	}
	defer unlock()
	files, m, err := readPrevious(b)
	if err != nil {
		return nil, err
	}
	cur, err := loadFiles(b)
	if err != nil {
		return nil, err
	}
	back := &snapshot{override: files[OverrideFile], baseFile: files[BaseFile]}
	if files[ListFile] != nil {
		if back.list, _, err = decodeList(b, files[ListFile]); err != nil {
			return nil, err
		}
	}
	slug := b.Slug()
	res := &Result{Slug: slug, Action: ActionRollback, List: back.list, Image: back.tag(slug)}
	if res.ImageBefore, err = o.Engine.ImageID(ctx, cur.tag(slug)); err != nil {
		return nil, err
	}
	undo, err := readTags(ctx, o.Engine, slug)
	if err != nil {
		return nil, err
	}
	if err := swapBack(ctx, o.Engine, slug, back.override != nil, m.ImageID); err != nil {
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	if res.ImageAfter, err = o.Engine.ImageID(ctx, res.Image); err != nil {
		return nil, err
	}
	res.Built = true
	if err := savePrevious(b, cur.files(), res.ImageBefore, o.now()); err != nil {
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	if err := writeFiles(b, back.files()); err != nil {
		writeFiles(b, cur.files())
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	if back.override != nil {
		res.Override = b.FilePath(OverrideFile)
	}
	entry := Entry{Time: o.now(), User: o.User, Action: ActionRollback, ImageBefore: res.ImageBefore, ImageAfter: res.ImageAfter}
	if back.list != nil {
		entry.BaseDigest = back.list.Base.Digest
	}
	return res, appendAudit(b, entry)
}

// swapBack moves the tags for a rollback: to the image the bottle had
// (id) when it had an override, else off the rebuilt tag altogether. The
// image it leaves becomes :previous.
func swapBack(ctx context.Context, e Engine, slug string, rebuilt bool, id string) error {
	if !rebuilt {
		return swapToBase(ctx, e, slug)
	}
	if id == "" {
		return nil // that state was never built: it still needs a build
	}
	have, err := e.ImageID(ctx, id)
	if err != nil {
		return err
	}
	if have == "" {
		return fmt.Errorf("bottle %q: the image it ran on before the last change (%s) is no longer in the Docker engine, so nothing was rolled back; change the capabilities again instead (`claude-bottle capability add|remove|rebase %s`)", slug, id, slug)
	}
	return swap(ctx, e, slug, have, true)
}

// swapToBase takes the bottle off its rebuilt tag, keeping that image as
// :previous; the bottle runs on the shared base tag.
func swapToBase(ctx context.Context, e Engine, slug string) error {
	latest := bottle.RebuiltImage(slug)
	old, err := e.ImageID(ctx, latest)
	if err != nil || old == "" {
		return err
	}
	if err := e.Tag(ctx, old, bottle.PreviousImage(slug)); err != nil {
		return err
	}
	return e.Untag(ctx, latest)
}

// loadFiles reads a bottle's state files, without resolving its base.
func loadFiles(b *state.Bottle) (*snapshot, error) {
	s := &snapshot{}
	var err error
	if s.list, _, err = readList(b); err != nil {
		return nil, err
	}
	if s.override, _, err = b.ReadFileAt(OverrideFile); err != nil {
		return nil, err
	}
	if s.baseFile, _, err = b.ReadFileAt(BaseFile); err != nil {
		return nil, err
	}
	return s, nil
}
