package launch

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/request"
)

// The swap. When a capability request of the running bottle is applied
// (the new image is built and tagged by whoever approved it), the
// supervisor makes the new image ready to run (the derived layer for the
// cwd, on the new tag) while the old container keeps running; after the
// grace, in which the agent's pending call gets its answer, it stops the
// old container, whose run snapshots the transcript as after any exit,
// and starts a new container of the same name and cwd mount from the new
// image, with the transcript restored and the resume command. If the new
// image cannot be made ready, the old container is not stopped; if it
// cannot start, the old image is started instead.

// swap moves the bottle onto its new image after request r was applied.
// It returns the image to start next (nil when the old
// container keeps running, or when it exited on its own: stopped then),
// and the old container's outcome once stopped.
func (ss *session) swap(ctx context.Context, r *request.Request, applied <-chan *request.Request, done <-chan runResult) (next *target, out Outcome, stopped bool, err error) {
	t0 := time.Now()
	log := ss.spec.Log.With("bottle", ss.slug(), "request", r.ID)
	log.Debug("swap: request applied")
	drain(applied) // applied before this look: the new tag holds them too
	next, perr := ss.reprepare(ctx)
	log.Debug("swap: new image ready", "took", time.Since(t0), "err", perr)
	grace := time.NewTimer(ss.o.SwapGrace - time.Since(t0))
	defer grace.Stop()
	select {
	case res := <-done:
		return nil, res.out, true, res.err
	case <-grace.C:
	}
	if perr != nil {
		ss.note.say("request %s was applied, but bottle %s's new image could not be made ready (%s); it keeps running on the old image", r.ID, ss.slug(), firstLine(perr))
		return nil, Outcome{}, false, nil
	}
	log.Debug("swap: stopping the old container")
	if err := ss.stopContainer(ctx); err != nil {
		log.Warn("stopping the old container for the swap", "err", err)
	}
	res := <-done
	log.Debug("swap: old container's run ended", "took", time.Since(t0))
	if res.err != nil {
		return nil, res.out, true, res.err
	}
	return next, res.out, true, nil
}

// reprepare finds the bottle's new image: the plan again (a first
// capability moves the bottle onto a tag of its own). The swap runs that
// image itself, not a derived image for the cwd: layering one takes the
// engine's builder seconds, and the container has what it would give (the
// cwd as working directory and mount point, and its label). The next
// launch layers it as usual. The image's ID is the fallback of the next
// swap.
func (ss *session) reprepare(ctx context.Context) (*target, error) {
	plan, err := ss.replan(ctx)
	if err != nil {
		return nil, err
	}
	id, err := imageID(ctx, ss.cli, plan.Image)
	if err != nil {
		return nil, err
	}
	return &target{plan: plan, id: id}, nil
}

// target is the image a swap moves the bottle onto: its plan's image, and
// its ID.
type target struct {
	plan *bottle.Plan
	id   string
}

// replan is SuperviseOptions.Replan, or the running plan resolved again.
func (ss *session) replan(ctx context.Context) (*bottle.Plan, error) {
	if ss.o.Replan != nil {
		return ss.o.Replan(ctx)
	}
	ss.mu.Lock()
	p := ss.plan
	ss.mu.Unlock()
	return bottle.Resolve(ss.store.State(), bottle.Options{
		Slug: p.Slug, Repo: p.Repo, RepoFrom: p.RepoFrom, Cwd: p.Cwd,
		Driver: p.Driver, DriverReason: p.DriverReason,
	})
}

// restart makes next the image the next container runs, with the
// transcript restored and the resume command, and says so in one line.
func (ss *session) restart(r *request.Request, next *target, old Outcome) {
	ss.mu.Lock()
	ss.plan = next.plan
	ss.spec.Image, ss.image = next.plan.Image, next.id
	ss.spec.Cmd = []string{"sh", "-c", ss.o.ResumeCommand}
	ss.spec.Resume, ss.spec.Attach = true, false
	ss.mu.Unlock()
	transcript := "with no transcript to restore"
	switch {
	case old.Snapshot != nil:
		transcript = fmt.Sprintf("with its transcript (%d %s)", old.Snapshot.Files, plural(old.Snapshot.Files, "file", "files"))
	case old.SnapshotErr != nil:
		transcript = "with its previous transcript snapshot (this one was not saved: " + firstLine(old.SnapshotErr) + ")"
	}
	ss.note.say("request %s applied (%s %s): bottle %s restarts on its new image %s, running `%s`",
		r.ID, r.Kind, clean(r.Name, 40), ss.slug(), transcript, ss.o.ResumeCommand)
}

// stopContainer stops the running container: SIGTERM, then SIGKILL after
// StopGrace. Its run sees the exit and snapshots the transcript.
func (ss *session) stopContainer(ctx context.Context) error {
	secs := int(ss.o.StopGrace.Round(time.Second) / time.Second)
	_, err := ss.cli.ContainerStop(context.WithoutCancel(ctx), bottle.ContainerName(ss.slug()), client.ContainerStopOptions{Timeout: &secs})
	return err
}

// drain empties ch of what is already in it.
func drain(ch <-chan *request.Request) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// imageID returns the ID of the image ref names now.
func imageID(ctx context.Context, cli *client.Client, ref string) (string, error) {
	res, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", engineError("inspecting the image "+ref, err)
	}
	return res.ID, nil
}

// watch reports the bottle's requests: one line for each that arrives
// (and each open one at the start) or fails to build, and the applied
// capability requests on the returned channel, which the loop swaps for.
func (ss *session) watch(ctx context.Context) <-chan *request.Request {
	out := make(chan *request.Request, 16)
	go func() {
		for ev := range ss.store.Watch(ctx, ss.slug()) {
			r := ev.Request
			open := r.State == bottleapi.StatePending || r.State == bottleapi.StateSuggested
			switch {
			case open && (ev.Initial || ev.Previous == ""):
				ss.note.say("%s", arrived(r))
			case ev.Initial || r.State == ev.Previous:
			case r.State == bottleapi.StateApplied && r.Kind == bottleapi.KindCapability:
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			case r.State == bottleapi.StateFailed:
				ss.note.say("request %s of bottle %s failed to build (%s); the bottle keeps running on its image", r.ID, ss.slug(), clean(r.Error, 120))
			}
		}
	}()
	return out
}

// BottleStatus tells the bottle socket what the bottle runs: the running
// image and the bottle's capabilities (request.StatusSource).
func (ss *session) BottleStatus(ctx context.Context) (string, []bottleapi.Capability, error) {
	ss.mu.Lock()
	image, p := ss.spec.Image, ss.plan
	ss.mu.Unlock()
	st, err := capability.Inspect(ss.store.State(), p.Slug, p.Repo)
	if err != nil {
		return image, nil, err
	}
	caps := make([]bottleapi.Capability, 0, len(st.Capabilities))
	for _, c := range st.Capabilities {
		caps = append(caps, bottleapi.Capability{Name: c.Name, Kind: string(c.Kind), Reason: c.Reason, ApprovedAt: c.ApprovedAt})
	}
	return image, caps, nil
}

// plural picks the word for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
