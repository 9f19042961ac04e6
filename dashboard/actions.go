package dashboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/progress"
	"github.com/claude-bottle/claude-bottle/request"
)

// The operator's actions. Each checks what it can at once (so bad input
// is refused with nothing changed and no job started), then runs as a job
// that calls the same library function as the CLI command that does it.

// ApproveInput is the body of POST /api/requests/{id}/approve.
type ApproveInput struct {
	// Instructions, when set, replace the request's: one run command a
	// line, or one line "packages: NAME...", as `request approve --edit`
	// reads them (request.ParseEdit).
	Instructions *string `json:"instructions,omitempty"`
}

// DenyInput is the body of POST /api/requests/{id}/deny.
type DenyInput struct {
	// Reason is told to the bottle's agent.
	Reason string `json:"reason"`
}

// errNoReason refuses a denial without a reason.
var errNoReason = errors.New("a denial needs a reason: the agent is told why")

// approve approves a request (like `request approve`), in a job that
// builds it into the bottle's image.
func (s *Server) approve(id string, in ApproveInput) (Job, error) {
	r, err := s.decidable(id)
	if err != nil {
		return Job{}, err
	}
	var run, pkgs []string
	if in.Instructions != nil {
		if run, pkgs, err = request.ParseEdit([]byte(*in.Instructions)); err != nil {
			return Job{}, err
		}
	}
	return s.run(r.Slug, "approve", id, true, func(ctx context.Context, sink driver.Sink) (string, error) {
		b, err := s.openBuilder(ctx) // before the decision: a driver that cannot start leaves it open
		if err != nil {
			return "", err
		}
		a := capability.RequestApplier{Options: s.changeOptions(b, sink), Plan: s.plan}
		r, err := s.requests.Approve(ctx, request.ApproveOptions{ID: id, By: s.o.User, Run: run, Packages: pkgs, Applier: a})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("request %s approved: capability %q is in bottle %s's image %s", r.ID, r.Name, r.Slug, short(r.ImageID)), nil
	})
}

// decidable finds a request the operator may still decide.
func (s *Server) decidable(id string) (*request.Request, error) {
	r, err := s.requests.Find(id)
	if err != nil {
		return nil, err
	}
	if !r.State.Open() {
		// Approve without an applier says it was decided, changing nothing.
		_, err := s.requests.Approve(s.ctx, request.ApproveOptions{ID: id, By: s.o.User})
		return nil, err
	}
	return r, nil
}

// deny denies a request with a reason (like `request deny`). It builds
// nothing, so it runs at once.
func (s *Server) deny(id string, in DenyInput) (*request.Request, error) {
	if in.Reason == "" {
		return nil, errNoReason
	}
	r, err := s.requests.Deny(s.ctx, id, in.Reason, s.o.User)
	if err == nil {
		s.poke()
	}
	return r, err
}

// rebuild builds a bottle's image again (like `build SLUG`).
func (s *Server) rebuild(slug string) (Job, error) {
	p, err := s.existing(slug)
	if err != nil {
		return Job{}, err
	}
	return s.run(slug, "rebuild", "", true, func(ctx context.Context, sink driver.Sink) (string, error) {
		b, err := s.openBuilder(ctx)
		if err != nil {
			return "", err
		}
		outs, err := batch.BuildHeld(ctx, s.o.Store, []*bottle.Plan{p}, batch.Options{
			Jobs: 1, Builder: b, Driver: s.o.Driver, User: s.o.User,
			Sink: func(string) driver.Sink { return sink },
		}, nil)
		if err != nil {
			return "", err
		}
		out := outs[0]
		if out.Err != nil {
			return "", out.Err
		}
		msg := fmt.Sprintf("bottle %s built: %s (%s, %d/%d steps cached)", slug, out.Image, short(out.ImageID), out.Steps.Cached, out.Steps.Total)
		if out.RecordErr != nil {
			msg += "; recording the build failed: " + out.RecordErr.Error()
		}
		return msg, nil
	})
}

// rebase renders a drifted override again on its base, builds it and
// swaps it in (like `capability rebase`).
func (s *Server) rebase(slug string) (Job, error) {
	p, err := s.existing(slug)
	if err != nil {
		return Job{}, err
	}
	if err := capability.Check(capability.Options{Store: s.o.Store, Plan: p, User: s.o.User}, capability.Change{Action: capability.ActionRebase}); err != nil {
		return Job{}, err
	}
	return s.run(slug, "rebase", "", true, func(ctx context.Context, sink driver.Sink) (string, error) {
		b, err := s.openBuilder(ctx)
		if err != nil {
			return "", err
		}
		o := s.changeOptions(b, sink)
		o.Plan = p
		res, err := capability.Rebase(ctx, o)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("bottle %s rebased: %s (%s, %d/%d steps cached)", slug, res.Image, short(res.ImageAfter), res.Steps.Cached, res.Steps.Total), nil
	})
}

// rollback goes back one step (like `capability rollback`).
func (s *Server) rollback(slug string) (Job, error) {
	p, err := s.existing(slug)
	if err != nil {
		return Job{}, err
	}
	return s.run(slug, "rollback", "", false, func(ctx context.Context, _ driver.Sink) (string, error) {
		res, err := capability.Rollback(ctx, capability.Options{Store: s.o.Store, Plan: p, Engine: capability.NewEngine(s.o.Engine), User: s.o.User})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("bottle %s rolled back: it runs on %s (%s); the image it left is %s", slug, res.Image, short(res.ImageAfter), bottle.PreviousImage(slug)), nil
	})
}

// stop stops a running bottle (like `claude-bottle stop`).
func (s *Server) stop(slug string) (Job, error) {
	if _, err := s.existing(slug); err != nil {
		return Job{}, err
	}
	return s.run(slug, "stop", "", false, func(ctx context.Context, _ driver.Sink) (string, error) {
		if err := launch.Stop(ctx, s.o.Engine, slug, 0); err != nil {
			return "", err
		}
		return fmt.Sprintf("bottle %s stopped; its launch saves the transcript", slug), nil
	})
}

// existing resolves the plan of a bottle the overview knows.
func (s *Server) existing(slug string) (*bottle.Plan, error) {
	if _, err := overview.One(s.ctx, s.overviewOptions(), slug); err != nil {
		return nil, err
	}
	return s.plan(slug)
}

// changeOptions are the options of a capability change the dashboard
// makes.
func (s *Server) changeOptions(b driver.Builder, sink driver.Sink) capability.Options {
	return capability.Options{Store: s.o.Store, Builder: b, Engine: capability.NewEngine(s.o.Engine), Sink: sink, User: s.o.User}
}

// run starts fn as a job on slug. A job that builds sends its progress to
// a plain-text printer (the log) and to the job's steps, through
// progress.Tee, and keeps its log as the bottle's last build.
func (s *Server) run(slug, action, requestID string, builds bool, fn func(ctx context.Context, sink driver.Sink) (string, error)) (Job, error) {
	j, err := s.jobs.start(slug, action, requestID)
	if err != nil {
		return Job{}, err
	}
	s.poke()
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		s.runJob(j, builds, fn)
	}()
	return j.snapshot(), nil
}

// jobEvery is how often a running job's progress is published.
const jobEvery = 250 * time.Millisecond

func (s *Server) runJob(j *job, builds bool, fn func(ctx context.Context, sink driver.Sink) (string, error)) {
	ctx := s.ctx
	var sink driver.Sink = j
	var printer *progress.Printer
	if builds {
		mode, _ := progress.ParseMode("plain", "", false)
		if p, err := progress.NewPrinter(ctx, j, mode); err == nil {
			printer, sink = p, progress.Tee(p, j)
		}
	}
	done := make(chan struct{})
	go s.streamJob(j, done)
	msg, err := fn(ctx, sink)
	if printer != nil {
		printer.Wait()
	}
	j.finish(msg, err)
	s.jobs.done(j)
	close(done)
	snap := j.snapshot()
	if builds {
		l := overview.BuildLog{Action: snap.Action, Started: snap.Started, Ended: *snap.Ended, OK: err == nil, Error: snap.Error, Log: snap.Log}
		if snap.Request != "" {
			l.Action += " " + snap.Request
		}
		if err := overview.SaveBuildLog(s.o.Store, snap.Slug, l); err != nil {
			s.o.Log.Warn("keeping the build's log", "bottle", snap.Slug, "err", err)
		}
	}
	s.publishJob(j)
	s.poke()
}

// streamJob publishes the job's progress while it changes, until done.
func (s *Server) streamJob(j *job, done <-chan struct{}) {
	t := time.NewTicker(jobEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if j.takeDirty() {
				s.publishJob(j)
			}
		}
	}
}

// maxEventLog bounds the log a "job" event carries (its end); the whole
// is at /api/jobs/{id}.
const maxEventLog = 64 << 10

func (s *Server) publishJob(j *job) {
	snap := j.snapshot()
	if len(snap.Log) > maxEventLog {
		snap.Log = "...\n" + snap.Log[len(snap.Log)-maxEventLog:]
	}
	s.publish("job", snap)
}

func short(id string) string {
	return overview.Image{ID: id}.ShortID()
}
