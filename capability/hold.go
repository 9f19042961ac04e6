package capability

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// Hold keeps the capability state of some bottles still while their
// images are built outside Apply (by `build` or `launch`): a change
// applied meanwhile waits, so an older build can never move a tag over
// the image of a newer change, and the build is recorded against the
// override it built.
type Hold struct {
	store   *state.Store
	unlocks []func()
	// digests are the held bottles' override digests.
	digests map[string]string
}

// HoldBottles takes the state locks of the bottles among slugs that keep
// capabilities, in slug order so that two holds never wait on each other,
// calling waiting with a slug whose lock a change holds. Bottles without
// capabilities are not held (nothing of theirs can change under a build).
func HoldBottles(ctx context.Context, store *state.Store, slugs []string, waiting func(slug string)) (*Hold, error) {
	h := &Hold{store: store, digests: map[string]string{}}
	sorted := append([]string(nil), slugs...)
	sort.Strings(sorted)
	for _, slug := range sorted {
		if _, held := h.digests[slug]; held {
			continue
		}
		if err := h.hold(ctx, slug, waiting); err != nil {
			h.Release()
			return nil, err
		}
	}
	return h, nil
}

func (h *Hold) hold(ctx context.Context, slug string, waiting func(string)) error {
	b, err := h.store.Bottle(slug)
	if err != nil {
		return err
	}
	if has, err := HasList(h.store, slug); err != nil || !has {
		return err
	}
	unlock, err := b.LockState(ctx, func() {
		if waiting != nil {
			waiting(slug)
		}
	})
	if err != nil {
		return err
	}
	h.unlocks = append(h.unlocks, unlock)
	override, _, err := b.ReadFileAt(OverrideFile)
	if err != nil {
		return err
	}
	h.digests[slug] = ""
	if override != nil {
		h.digests[slug] = contentDigest(override)
	}
	return nil
}

// Built records that the held bottle slug's image was built as imageID,
// so it no longer needs a build. It does nothing for a bottle not held.
func (h *Hold) Built(slug, imageID, user string) error {
	digest, held := h.digests[slug]
	if !held || digest == "" {
		return nil
	}
	b, err := h.store.Bottle(slug)
	if err != nil {
		return err
	}
	return recordBuilt(b, digest, imageID, user)
}

// Release releases every lock the hold took.
func (h *Hold) Release() {
	for _, u := range h.unlocks {
		u()
	}
	h.unlocks = nil
}

// MarkBuilt records that the override whose content digest is
// dockerfileDigest was built as imageID, taking the bottle's lock. It
// does nothing for a bottle without capabilities, or when the override
// changed since (a change applied after that build).
func MarkBuilt(ctx context.Context, store *state.Store, slug, dockerfileDigest, imageID, user string) error {
	b, err := store.Bottle(slug)
	if err != nil {
		return err
	}
	if exists, err := b.Exists(); err != nil || !exists {
		return err
	}
	unlock, err := b.LockState(ctx, nil)
	if err != nil {
		return err
	}
	defer unlock()
	return recordBuilt(b, dockerfileDigest, imageID, user)
}

// recordBuilt writes the build record into the list; the caller holds the
// bottle's lock.
func recordBuilt(b *state.Bottle, dockerfileDigest, imageID, user string) error {
	cur, err := loadFiles(b)
	if err != nil || cur.list == nil || cur.override == nil || contentDigest(cur.override) != dockerfileDigest {
		return err
	}
	if cur.list.Built != nil && cur.list.Built.Dockerfile == dockerfileDigest && cur.list.Built.ImageID == imageID {
		return nil
	}
	before := ""
	if cur.list.Built != nil {
		before = cur.list.Built.ImageID
	}
	now := time.Now().UTC().Round(time.Second)
	cur.list.Built = &Built{Dockerfile: dockerfileDigest, ImageID: imageID, At: now}
	if err := b.WriteFileAt(ListFile, cur.list.encode(), 0o644); err != nil {
		return fmt.Errorf("bottle %q: recording the build: %w", b.Slug(), err)
	}
	if user == "" {
		user = CurrentUser()
	}
	return appendAudit(b, Entry{Time: now, User: user, Action: ActionBuilt, BaseDigest: cur.list.Base.Digest, ImageBefore: before, ImageAfter: imageID})
}
