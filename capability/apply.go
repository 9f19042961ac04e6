package capability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// Options are what every change to a bottle's capabilities needs.
type Options struct {
	// Store is the state root.
	Store *state.Store
	// Plan is the bottle's plan (bottle.Resolve): its slug, repo and
	// build context.
	Plan *bottle.Plan
	// Builder builds the new image; Engine moves the tags. Neither is
	// used with NoBuild.
	Builder driver.Builder
	Engine  Engine
	// Sink receives the build's progress; nil discards it.
	Sink driver.Sink
	// Request holds the caller's build options (build args, cache,
	// secrets); what is built, from which context and as which tag are
	// Apply's own, whatever it says.
	Request driver.Request
	// User is who makes the change, for the audit log; empty means
	// CurrentUser().
	User string
	// NoBuild records the change without building: the override is
	// rendered and written, the tag does not move, and the bottle needs a
	// build (`claude-bottle build SLUG`).
	NoBuild bool
	// Waiting is called once when another change to the same bottle holds
	// its lock, before Apply waits for it.
	Waiting func()
	// Now returns the time; nil means time.Now.
	Now func() time.Time
}

// Change is one change to a bottle's capabilities.
type Change struct {
	// Action is ActionAdd, ActionRemove or ActionRebase.
	Action string
	// Capability is the capability to add (ActionAdd). Empty Kind, User,
	// ApprovedBy, ApprovedAt and Source take their defaults: a layer, run
	// as root, approved now by Options.User, from the operator.
	Capability Capability
	// Name is the capability to remove (ActionRemove).
	Name string
}

// Result says what a change did.
type Result struct {
	Slug       string `json:"slug"`
	Action     string `json:"action"`
	Capability string `json:"capability,omitempty"`
	// Image is the tag the bottle runs on now.
	Image string `json:"image"`
	// ImageBefore and ImageAfter are the bottle's image IDs before and
	// after; equal when nothing was built.
	ImageBefore string `json:"image_before,omitempty"`
	ImageAfter  string `json:"image_after,omitempty"`
	// Built is false with NoBuild: the bottle needs a build.
	Built bool `json:"built"`
	// NothingToBuild is true when the change added nothing to the image
	// (an egress capability): the image is as it was, and current.
	NothingToBuild bool `json:"nothing_to_build,omitempty"`
	// Steps counts the build's steps and how many were cached.
	Steps driver.StepCount `json:"steps"`
	// Rebased is true when the base had changed since the override was
	// last rendered, so the new override carries the base's change too.
	Rebased bool `json:"rebased,omitempty"`
	// Override is the path of the bottle's override, "" when it has none
	// (it runs on the repo's image).
	Override string `json:"override,omitempty"`
	// List is the bottle's capabilities after the change.
	List *List `json:"list"`
}

// Add adds c to the end of the bottle's capabilities and applies it.
func Add(ctx context.Context, o Options, c Capability) (*Result, error) {
	return Apply(ctx, o, Change{Action: ActionAdd, Capability: c})
}

// Remove removes the capability named name and applies it.
func Remove(ctx context.Context, o Options, name string) (*Result, error) {
	return Apply(ctx, o, Change{Action: ActionRemove, Name: name})
}

// Rebase renders the override again on the current base and applies it.
func Rebase(ctx context.Context, o Options) (*Result, error) {
	return Apply(ctx, o, Change{Action: ActionRebase})
}

// Apply makes one change as build, then swap. Under the bottle's lock it
// reads the current state, computes the new list on the current base,
// renders the new override to a temporary file and builds it to a
// temporary tag. Only if the build succeeds does it move the tags (the
// replaced image kept as the bottle's :previous), keep the old state files
// in previous/ for Rollback, write the new ones and append to the audit
// log. A failed build removes the temporary tag and changes nothing else;
// its error is a *BuildError naming the capability whose step failed.
func Apply(ctx context.Context, o Options, ch Change) (*Result, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := ch.prepare(o); err != nil {
		return nil, err
	}
	b, err := o.Store.Bottle(o.Plan.Slug)
	if err != nil {
		return nil, err
	}
	if err := ch.needsState(b); err != nil {
		return nil, err
	}
	unlock, err := b.LockState(ctx, o.Waiting)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := loadCurrent(b, o.Plan.Repo)
	if err != nil {
		return nil, err
	}
	next, err := cur.change(b.Slug(), ch, o.now())
	if err != nil {
		return nil, err
	}
	res := &Result{Slug: b.Slug(), Action: ch.Action, Capability: ch.name(), List: next.list, Rebased: next.rebased}
	if res.ImageBefore, err = o.imageID(ctx, cur.tag(b.Slug())); err != nil {
		return nil, err
	}
	res.Image, res.ImageAfter = next.tag(b.Slug()), res.ImageBefore
	var undo tagSet
	unchanged := imageUnchanged(ch, cur, next)
	switch {
	case unchanged:
		// An egress capability adds nothing to the image: the egress proxy
		// reads the list, so the change is live once it is written.
		res.Built, res.NothingToBuild = true, true
	case !o.NoBuild:
		if undo, err = o.buildAndSwap(ctx, b, next, res); err != nil {
			return nil, err
		}
	}
	if err := commit(b, cur, next, res.ImageBefore, o.now()); err != nil {
		undo.restore(context.WithoutCancel(ctx), o.Engine)
		return nil, err
	}
	if next.override != nil {
		res.Override = b.FilePath(OverrideFile)
	}
	entry := Entry{Time: o.now(), User: o.User, Action: ch.Action, Capability: res.Capability,
		RequestID: ch.requestID(), BaseDigest: next.list.Base.Digest, ImageBefore: res.ImageBefore, ImageAfter: res.ImageAfter}
	if unchanged {
		entry.Detail = "egress: nothing to build"
	} else if o.NoBuild {
		entry.Detail = "not built (--no-build): the bottle needs `claude-bottle build " + b.Slug() + "`"
	} else if next.rebased {
		entry.Detail = "rendered on the changed base"
	}
	if err := appendAudit(b, entry); err != nil {
		return res, fmt.Errorf("the change is applied, but %w", err)
	}
	return res, nil
}

// imageUnchanged reports whether ch adds an egress capability and leaves
// the override as it was: there is nothing to build.
func imageUnchanged(ch Change, cur, next *snapshot) bool {
	return ch.Action == ActionAdd && ch.Capability.Kind == KindEgress && bytes.Equal(cur.override, next.override)
}

func (o Options) withDefaults() Options {
	if o.User == "" {
		o.User = CurrentUser()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o Options) now() time.Time { return o.Now().UTC().Round(time.Second) }

func (o Options) check() error {
	switch {
	case o.Store == nil || o.Plan == nil:
		return errors.New("capability: Options need a Store and a Plan")
	case !o.NoBuild && (o.Builder == nil || o.Engine == nil):
		return errors.New("capability: Options need a Builder and an Engine unless NoBuild is set")
	}
	return nil
}

func (o Options) imageID(ctx context.Context, ref string) (string, error) {
	if o.Engine == nil {
		return "", nil
	}
	return o.Engine.ImageID(ctx, ref)
}

// prepare fills an add's defaults and checks the change before any lock
// is taken: bad input is refused with nothing written.
func (ch *Change) prepare(o Options) error {
	switch ch.Action {
	case ActionAdd:
		c := &ch.Capability
		if c.Kind == "" {
			c.Kind = KindLayer
		}
		if c.User == "" && c.Kind == KindLayer {
			c.User = DefaultUser
		}
		if c.ApprovedBy == "" {
			c.ApprovedBy = o.User
		}
		if c.ApprovedAt.IsZero() {
			c.ApprovedAt = o.now()
		}
		if c.Source.Kind == "" {
			c.Source.Kind = SourceOperator
		}
		if c.Kind == KindLayer {
			text, err := checkInstructions(c.Name, c.Instructions)
			if err != nil {
				return err
			}
			c.Instructions = text + "\n"
		}
		return c.Validate()
	case ActionRemove:
		return ValidateName(ch.Name)
	case ActionRebase:
		return nil
	}
	return fmt.Errorf("capability: unknown action %q", ch.Action)
}

// Check checks a change as far as it can without the bottle's lock and
// without building: its input, and against the bottle's current list
// whether the name is taken (add) or known (remove), or whether there is
// anything to rebase. A caller uses it to refuse bad input before it
// opens a driver; Apply checks again under the lock.
func Check(o Options, ch Change) error {
	o = o.withDefaults()
	if o.Store == nil || o.Plan == nil {
		return errors.New("capability: Options need a Store and a Plan")
	}
	if err := ch.prepare(o); err != nil {
		return err
	}
	b, err := o.Store.Bottle(o.Plan.Slug)
	if err != nil {
		return err
	}
	if err := ch.needsState(b); err != nil {
		return err
	}
	cur, err := loadCurrent(b, o.Plan.Repo)
	if err != nil {
		return err
	}
	_, err = cur.change(b.Slug(), ch, o.now())
	return err
}

// needsState refuses a remove or rebase of a bottle that has no state
// folder at all, before the lock would create one.
func (ch *Change) needsState(b *state.Bottle) error {
	if ch.Action == ActionAdd {
		return nil
	}
	exists, err := b.Exists()
	switch {
	case err != nil:
		return err
	case exists:
		return nil
	case ch.Action == ActionRemove:
		return fmt.Errorf("%w: bottle %q has no capabilities, so none named %q", ErrNotFound, b.Slug(), ch.Name)
	}
	return fmt.Errorf("%w: bottle %q has none, so nothing to rebase; add one with `claude-bottle capability add`", ErrNoCapabilities, b.Slug())
}

func (ch *Change) name() string {
	if ch.Action == ActionAdd {
		return ch.Capability.Name
	}
	return ch.Name
}

func (ch *Change) requestID() string {
	if ch.Action == ActionAdd {
		return ch.Capability.Source.RequestID
	}
	return ""
}

// snapshot is a bottle's capability state at one moment: the list, the
// override and the base file (nil when absent), and the base they render
// on.
type snapshot struct {
	list     *List
	override []byte
	baseFile []byte
	base     *Base
	rebased  bool
	rendered *Rendered
}

// tag is the tag the bottle runs on in this state.
func (s *snapshot) tag(slug string) string { return bottle.Tag(slug, s.override != nil) }

func loadCurrent(b *state.Bottle, repo string) (*snapshot, error) {
	s, err := loadFiles(b)
	if err != nil {
		return nil, err
	}
	if s.base, err = loadBase(b, repo, s.list); err != nil {
		return nil, err
	}
	return s, nil
}

// change computes the state after ch, rendered on the current base.
func (cur *snapshot) change(slug string, ch Change, now time.Time) (*snapshot, error) {
	next := &snapshot{base: cur.base, baseFile: cur.baseFile, list: cur.list.clone()}
	if next.list == nil {
		next.list = &List{Version: ListVersion}
	}
	l := next.list
	switch ch.Action {
	case ActionAdd:
		if _, i := l.Find(ch.Capability.Name); i >= 0 {
			return nil, fmt.Errorf("%w: bottle %q already has a capability named %q; remove it first (`claude-bottle capability remove %s %s`) or choose another name", ErrExists, slug, ch.Capability.Name, slug, ch.Capability.Name)
		}
		l.Capabilities = append(l.Capabilities, ch.Capability)
	case ActionRemove:
		_, i := l.Find(ch.Name)
		if i < 0 {
			return nil, fmt.Errorf("%w: bottle %q has no capability named %q; see `claude-bottle capability list %s`", ErrNotFound, slug, ch.Name, slug)
		}
		l.Capabilities = append(l.Capabilities[:i], l.Capabilities[i+1:]...)
	case ActionRebase:
		if cur.list == nil {
			return nil, fmt.Errorf("%w: bottle %q has none, so nothing to rebase; add one with `claude-bottle capability add`", ErrNoCapabilities, slug)
		}
	}
	next.rebased = cur.list != nil && cur.list.Base.Digest != cur.base.Digest
	if cur.base.migrate {
		next.baseFile = cur.base.Data
	}
	l.Base = BaseRecord{Source: cur.base.Source, Digest: cur.base.Digest, RenderedAt: now, Path: cur.base.Path}
	if cur.base.Source == SourceRepo && l.layers() == 0 {
		return next, nil // no override: the bottle runs on the repo's image
	}
	r, err := Render(cur.base.Data, l.Capabilities)
	if err != nil {
		return nil, err
	}
	next.rendered, next.override = r, r.Data
	return next, nil
}
