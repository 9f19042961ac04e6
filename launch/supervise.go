package launch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// DefaultResumeCommand is what a bottle runs after a swap unless told
// otherwise: Claude Code continuing the last session of its working
// folder.
const DefaultResumeCommand = "claude --continue"

// DefaultSwapGrace is how long a swap waits after a request is applied
// before it stops the old container: time for the agent's pending call to
// get its answer.
const DefaultSwapGrace = time.Second

// SuperviseOptions say how a Supervisor swaps its bottle onto a new image.
type SuperviseOptions struct {
	// ResumeCommand is what the new container runs after a swap, with
	// sh -c; "" is DefaultResumeCommand.
	ResumeCommand string
	// SwapGrace is the wait between a request being applied and the old
	// container being stopped; 0 is DefaultSwapGrace, and a negative one
	// none.
	SwapGrace time.Duration
	// StopGrace is how long the old container has to exit after SIGTERM
	// before it is killed; 0 is DefaultStopGrace.
	StopGrace time.Duration
	// Replan returns the bottle's plan after an applied request changed
	// its image (a first capability moves a bottle onto an image of its
	// own); nil resolves it again as the running plan was (bottle.Resolve
	// with its repo, cwd and driver).
	Replan func(ctx context.Context) (*bottle.Plan, error)
}

// Supervisor owns one bottle for as long as a launch runs it: the run
// lock, the container, the terminal attached to it, the bottle socket,
// and every swap onto a new image when a capability request of the
// bottle is applied (by `claude-bottle request approve` or the dashboard,
// in another process).
type Supervisor struct {
	b       *state.Bottle
	o       SuperviseOptions
	release func()
}

// NewSupervisor takes bottle b's run lock (LockRun): a second launch of a
// running bottle fails here, before anything is built. Close gives it
// back.
func NewSupervisor(b *state.Bottle, o SuperviseOptions) (*Supervisor, error) {
	release, err := LockRun(b)
	if err != nil {
		return nil, err
	}
	if o.ResumeCommand == "" {
		o.ResumeCommand = DefaultResumeCommand
	}
	if o.SwapGrace == 0 {
		o.SwapGrace = DefaultSwapGrace
	}
	if o.StopGrace <= 0 {
		o.StopGrace = DefaultStopGrace
	}
	return &Supervisor{b: b, o: o, release: release}, nil
}

// Close releases the run lock.
func (s *Supervisor) Close() {
	if s.release != nil {
		s.release()
		s.release = nil
	}
}

// Run runs the prepared bottle until its command exits, as Prepared.Run
// does, serving its socket throughout; meanwhile it prints one line on
// ro.Stderr for each request that arrives, and swaps the bottle onto its
// new image after each applied capability request (see swap). The
// outcome is the last container's.
func (s *Supervisor) Run(ctx context.Context, p *Prepared, ro RunOptions) (Outcome, error) {
	if p.Plan.Slug != s.b.Slug() {
		return Outcome{}, fmt.Errorf("launch: supervisor of bottle %s given a plan of bottle %s", s.b.Slug(), p.Plan.Slug)
	}
	ss, err := s.newSession(ctx, p, ro)
	if err != nil {
		return Outcome{}, err
	}
	sock, err := serveSocket(s.b, ss.spec.Log, func(o *request.ServerOptions) {
		o.Status = ss
		if ro.Socket != nil {
			ro.Socket(o)
		}
	})
	if err != nil {
		return Outcome{}, err
	}
	defer func() {
		if cerr := sock.close(); cerr != nil {
			ss.spec.Log.Warn("closing the bottle socket", "bottle", ss.slug(), "err", cerr)
		}
	}()
	if ss.spec.RunDir == "" {
		ss.spec.RunDir = sock.dir.Dir
	}
	if ss.spec.ManagedDir == "" {
		ss.spec.ManagedDir = sock.dir.ManagedDir
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	return ss.loop(ctx, ss.watch(wctx))
}

// session is one Supervisor.Run.
type session struct {
	o     SuperviseOptions
	cli   *client.Client
	store *request.Store
	note  notices
	relay *stdinRelay

	mu    sync.Mutex // guards plan and spec.Image, read by BottleStatus
	plan  *bottle.Plan
	spec  Spec
	image string // the running image's ID: the fallback of a swap
}

// newSession makes the run's spec and puts back requests left half-done
// by a claude-bottle that died.
func (s *Supervisor) newSession(ctx context.Context, p *Prepared, ro RunOptions) (*session, error) {
	spec := runSpec(p.Plan, ro)
	spec.Image = p.Image
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	st, err := state.Open(stateRootOf(s.b))
	if err != nil {
		return nil, err
	}
	mu := &sync.Mutex{}
	ss := &session{
		o: s.o, cli: p.engine, store: request.NewStore(st), plan: p.Plan,
		note: notices{mu: mu, w: spec.Stderr, raw: spec.TTY && spec.Terminal != nil},
	}
	if spec.Stdout != nil {
		spec.Stdout = terminalWriter{mu: mu, w: spec.Stdout}
	}
	if spec.Stderr != nil {
		spec.Stderr = terminalWriter{mu: mu, w: spec.Stderr}
	}
	if spec.Stdin != nil {
		ss.relay = newStdinRelay(spec.Stdin)
	}
	ss.spec = spec
	if ss.image, err = imageID(ctx, ss.cli, spec.Image); err != nil && !spec.Attach {
		return nil, err
	}
	if _, err := ss.store.Recover(ctx, spec.Slug); err != nil {
		spec.Log.Warn("recovering the bottle's requests", "bottle", spec.Slug, "err", err)
	}
	if _, err := ss.store.ExpireOverdue(ctx, spec.Slug); err != nil {
		spec.Log.Warn("expiring the bottle's overdue requests", "bottle", spec.Slug, "err", err)
	}
	return ss, nil
}

func (ss *session) slug() string { return ss.spec.Slug }

// runResult is how one container's run ended.
type runResult struct {
	out Outcome
	err error
}

// loop runs containers one after the other: the first, then one per swap,
// until one's command exits (or it fails) without a swap.
func (ss *session) loop(ctx context.Context, applied <-chan *request.Request) (Outcome, error) {
	fallback := "" // the image to go back to if this run cannot start
	done := ss.start(ctx)
	for {
		select {
		case res := <-done:
			if res.err == nil || fallback == "" || ctx.Err() != nil {
				return res.out, res.err
			}
			ss.note.say("the new image of bottle %s did not start (%s); back on the old image", ss.slug(), firstLine(res.err))
			ss.setImage(fallback, fallback)
			fallback = ""
			done = ss.start(ctx)
		case r := <-applied:
			next, out, stopped, err := ss.swap(ctx, r, applied, done)
			if err != nil || (stopped && next == nil) {
				return out, err
			}
			if next == nil {
				continue // not swapped: the old container runs on
			}
			if ctx.Err() != nil {
				return out, nil
			}
			fallback = ss.currentImage()
			ss.restart(r, next, out)
			done = ss.start(ctx)
		}
	}
}

// start runs the spec's container in the background, with a reader of
// the relayed input of its own.
func (ss *session) start(ctx context.Context) <-chan runResult {
	ss.mu.Lock()
	spec := ss.spec
	ss.mu.Unlock()
	var in *relayReader
	if ss.relay != nil {
		in = ss.relay.attach()
		spec.Stdin = in
	}
	ch := make(chan runResult, 1)
	go func() {
		spec.Log.Debug("supervise: run begins", "bottle", spec.Slug, "image", spec.Image)
		out, err := Run(ctx, ss.cli, spec)
		if in != nil {
			in.detach()
		}
		ch <- runResult{out, err}
	}()
	return ch
}

// currentImage is the running image's ID (looked up the first time).
func (ss *session) currentImage() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.image
}

// setImage makes ref the image the next container runs, id its ID.
func (ss *session) setImage(ref, id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.spec.Image, ss.image = ref, id
}
