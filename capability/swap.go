package capability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// buildAndSwap builds next's image to a temporary tag and, on success,
// moves the tags: the bottle's old rebuilt image to :previous, the new
// image to the bottle's tag.
func (o Options) buildAndSwap(ctx context.Context, b *state.Bottle, next *snapshot, res *Result) (tagSet, error) {
	slug := b.Slug()
	pending := pendingImage(slug)
	req := o.Request
	req.Dockerfile, req.ContextDir, req.Tags = filepath.Join(o.Plan.Repo, "Dockerfile"), o.Plan.Context, []string{pending}
	if next.override != nil {
		tmp, err := writeTemp(b, next.override)
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp)
		req.Dockerfile = tmp
	}
	capture := &Capture{Next: o.Sink}
	built, err := o.Builder.Build(ctx, req, capture)
	if err != nil {
		o.Engine.Untag(context.WithoutCancel(ctx), pending)
		return nil, buildError(slug, err, capture, next.rendered, req.Dockerfile)
	}
	res.Built, res.Steps = true, built.Steps
	id := built.ImageID
	if id == "" {
		if id, err = o.Engine.ImageID(ctx, pending); err != nil {
			return nil, err
		}
	}
	undo, err := readTags(ctx, o.Engine, slug)
	if err != nil {
		return nil, err
	}
	if err := swap(ctx, o.Engine, slug, id, next.override != nil); err != nil {
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	if err := o.Engine.Untag(context.WithoutCancel(ctx), pending); err != nil {
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	res.ImageAfter = id
	digest := ""
	if next.override != nil {
		digest = contentDigest(next.override)
	}
	next.list.Built = &Built{Dockerfile: digest, ImageID: id, At: o.now()}
	return undo, nil
}

// swap gives the image id the bottle's tag: the rebuilt tag when the
// bottle has an override, else the shared base tag. The bottle's old
// rebuilt image, if any, is kept as its :previous first; a bottle going
// back to the base tag loses its rebuilt :latest.
func swap(ctx context.Context, e Engine, slug, id string, rebuilt bool) error {
	latest, previous := bottle.RebuiltImage(slug), bottle.PreviousImage(slug)
	old, err := e.ImageID(ctx, latest)
	if err != nil {
		return err
	}
	if old != "" && old != id {
		if err := e.Tag(ctx, old, previous); err != nil {
			return err
		}
	}
	if err := e.Tag(ctx, id, bottle.Tag(slug, rebuilt)); err != nil {
		return err
	}
	if !rebuilt && old != "" {
		return e.Untag(ctx, latest)
	}
	return nil
}

// tagSet is what a bottle's tags pointed at before a swap ("" for a tag
// that did not exist), to undo the swap when the state that goes with it
// cannot be written: the tags and the state move together or not at all.
type tagSet map[string]string

func readTags(ctx context.Context, e Engine, slug string) (tagSet, error) {
	ts := tagSet{}
	for _, ref := range []string{bottle.RebuiltImage(slug), bottle.PreviousImage(slug), bottle.BaseImage} {
		id, err := e.ImageID(ctx, ref)
		if err != nil {
			return nil, err
		}
		ts[ref] = id
	}
	return ts, nil
}

// restore puts every tag back where it was, as far as the engine lets it
// (best effort: it runs after another failure, which is the one reported).
func (ts tagSet) restore(ctx context.Context, e Engine) {
	for ref, id := range ts {
		now, err := e.ImageID(ctx, ref)
		switch {
		case err != nil || now == id:
		case id == "":
			e.Untag(ctx, ref)
		default:
			e.Tag(ctx, id, ref)
		}
	}
}

// pendingImage is the temporary tag a change builds to before the swap.
func pendingImage(slug string) string {
	var b [4]byte
	rand.Read(b[:])
	return bottle.PendingImage(slug, hex.EncodeToString(b[:]))
}

// writeTemp writes the override to build into the bottle's folder, under
// a name the state store sweeps if a crash leaves it behind.
func writeTemp(b *state.Bottle, data []byte) (string, error) {
	f, err := os.CreateTemp(b.Dir(), "."+OverrideFile+".tmp-pending-*")
	if err != nil {
		return "", fmt.Errorf("bottle %q: writing the override to build: %w", b.Slug(), err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("bottle %q: writing the override to build: %w", b.Slug(), err)
	}
	return f.Name(), nil
}
