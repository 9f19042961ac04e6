// Package launch is the launch sequence of a bottle, as one library call
// that the CLI, the supervisor and the dashboard share: check the
// Dockerfile, build the bottle's image through a driver, layer the derived
// image for the agent's working folder on it, run the container with the
// folder bind-mounted and the terminal attached, and snapshot the agent's
// transcript when it stops.
//
// Launch does it all. Prepare does the image half and Prepared.Run the
// container half, so that a caller can build a new image while the old
// one still runs and swap onto it. Sequence says what a launch will do
// without doing any of it: a dry run prints it, and Prepare follows it.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/request"
)

// PrepareOptions say how to make a bottle's image ready to run.
type PrepareOptions struct {
	// Plan is the bottle's plan, from bottle.Resolve, with its driver
	// chosen.
	Plan *bottle.Plan
	// Build holds the build options (build args, secrets, cache, ...); the
	// plan says what is built and as which tag (bottle.Plan.RequestWith).
	Build driver.Request
	// Builder builds the plan's image; it is not used with NoBuild.
	Builder driver.Builder
	// Sink receives the build's progress; nil discards it.
	Sink driver.Sink
	// NoBuild runs the image as the engine holds it, without building.
	NoBuild bool
	// Engine is the Docker engine the derived image is made in and the
	// bottle runs on (Connect).
	Engine *client.Client
}

// RunOptions say how to run a prepared bottle: what Spec holds beyond the
// plan.
type RunOptions struct {
	// Cmd replaces the image's default command when not empty.
	Cmd []string
	// Env are KEY=VALUE pairs passed at run time, never baked into an image.
	Env []string
	// TranscriptDir is the agent's state folder inside the bottle, an
	// absolute path.
	TranscriptDir string
	// Resume copies the last snapshot into the bottle before it starts.
	Resume bool
	// Transcript bounds the snapshot and says what a resume restores.
	Transcript TranscriptOptions
	// Keep leaves the stopped container in place.
	Keep bool
	// Attach joins an already running bottle instead of refusing.
	Attach bool
	// Stdin, Stdout, Stderr are the terminal; Stdin nil runs without input.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY allocates a terminal in the bottle; Terminal, when set, is the
	// host terminal to put in raw mode and size the bottle's by.
	TTY      bool
	Terminal Terminal
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
	// Containment is how the bottle holds its agent: network, limits,
	// mounts and the host user (container.go).
	Containment
	// Socket, when set, adds to what Prepared.Run serves on the bottle
	// socket (see SocketHook). Prepared.Run serves the socket for the
	// whole run unless Containment.RunDir names a folder, whose socket the
	// caller serves itself.
	Socket SocketHook
}

// Prepared is a bottle whose image is ready to run.
type Prepared struct {
	// Plan is the plan it was prepared from.
	Plan *bottle.Plan
	// Image is the image the bottle runs: the derived image with a working
	// folder, else the plan's own.
	Image string
	// Built is the build's result; nil with NoBuild.
	Built *driver.Result
	// DerivedID is the derived image's ID; empty without a working folder.
	DerivedID string

	engine *client.Client
}

// Launch prepares the bottle's image and runs it: Prepare, then Run.
func Launch(ctx context.Context, po PrepareOptions, ro RunOptions) (Outcome, error) {
	p, err := Prepare(ctx, po)
	if err != nil {
		return Outcome{}, err
	}
	return p.Run(ctx, ro)
}

// Prepare makes the bottle's image ready: it checks the Dockerfile (so a
// bad one is refused with its file and line before any driver is asked),
// builds the image through the Builder, and layers the derived image for
// the plan's working folder on it. Nothing runs yet.
func Prepare(ctx context.Context, po PrepareOptions) (*Prepared, error) {
	if err := po.check(); err != nil {
		return nil, err
	}
	steps := Sequence(po, RunOptions{})
	p := &Prepared{Plan: po.Plan, Image: steps.Run.Image, engine: po.Engine}
	if steps.Build != nil {
		res, err := buildImage(ctx, po, *steps.Build)
		if err != nil {
			return nil, err
		}
		p.Built = res
	}
	if d := steps.Derive; d != nil {
		id, err := deriveFresh(ctx, po.Engine, po.Plan.State, d.Base, d.Cwd, d.Tag)
		if err != nil {
			return nil, err
		}
		p.DerivedID = id
	}
	return p, nil
}

// Run runs the prepared bottle and waits for it to exit (see the package
// function Run: a signal that cancels ctx is passed to the agent, and the
// transcript is snapshotted after the exit). Unless ro.RunDir names a
// folder, it serves the bottle socket (request.Server on
// request.PrepareRunDir, with Claude Code's managed configuration beside
// it) from before the bottle starts until after it stops; ro.Socket adds
// to what it serves.
func (p *Prepared) Run(ctx context.Context, ro RunOptions) (Outcome, error) {
	spec := runSpec(p.Plan, ro)
	spec.Image = p.Image
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	if spec.RunDir != "" {
		return Run(ctx, p.engine, spec)
	}
	sock, err := serveSocket(spec.Bottle, spec.Log, ro.Socket)
	if errors.Is(err, request.ErrInUse) && spec.Attach {
		// The launch that runs the bottle serves its socket.
		return Run(ctx, p.engine, spec)
	}
	if err != nil {
		return Outcome{}, err
	}
	defer func() {
		if cerr := sock.close(); cerr != nil {
			spec.Log.Warn("closing the bottle socket", "bottle", spec.Slug, "err", cerr)
		}
	}()
	spec.RunDir = sock.dir.Dir
	if spec.ManagedDir == "" {
		spec.ManagedDir = sock.dir.ManagedDir
	}
	return Run(ctx, p.engine, spec)
}

// buildImage checks the plan's Dockerfile and builds req.
func buildImage(ctx context.Context, po PrepareOptions, req driver.Request) (*driver.Result, error) {
	p := po.Plan
	if err := p.CheckDockerfile(); err != nil {
		return nil, err
	}
	sink := po.Sink
	if sink == nil {
		sink = driver.Discard
	}
	res, err := po.Builder.Build(ctx, req, sink)
	if err != nil {
		return nil, fmt.Errorf("building bottle %s (%s from %s): %w", p.Slug, p.Image, p.Dockerfile, err)
	}
	return res, nil
}

// check refuses options a caller got wrong: these are programming errors,
// not the user's.
func (po PrepareOptions) check() error {
	switch {
	case po.Plan == nil:
		return errors.New("launch: no plan to prepare")
	case po.Plan.State == nil:
		return fmt.Errorf("launch: the plan of bottle %q carries no state; make plans with bottle.Resolve", po.Plan.Slug)
	case po.Engine == nil:
		return errors.New("launch: no Docker engine to prepare the bottle on")
	case po.Builder == nil && !po.NoBuild:
		return fmt.Errorf("launch: no driver to build bottle %q with", po.Plan.Slug)
	}
	return nil
}
