package launch

import (
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// Steps are what a launch does, in order, decided before any of it is
// done.
type Steps struct {
	// Driver names the driver that builds the image (the plan's).
	Driver string
	// Build is the build of the bottle's image; nil with NoBuild.
	Build *driver.Request
	// Derive is the derived image layered for the working folder; nil
	// without one.
	Derive *Derive
	// Run is the bottle's run.
	Run Spec
}

// Derive is the layering of a derived image for a host folder.
type Derive struct {
	// Base is the bottle's image, Tag the derived image made on it.
	Base, Tag string
	// Cwd is the host folder it is made for (DerivedDockerfile).
	Cwd string
}

// Sequence returns the steps a launch with these options takes, without
// taking any: nothing is read, built or run. Prepare follows it, and a dry
// run prints it, so the two cannot drift apart.
func Sequence(po PrepareOptions, ro RunOptions) Steps {
	p := po.Plan
	s := Steps{Driver: p.Driver, Run: runSpec(p, ro)}
	if !po.NoBuild {
		req := p.RequestWith(po.Build)
		s.Build = &req
	}
	if p.DerivedImage != "" {
		s.Derive = &Derive{Base: p.Image, Tag: p.DerivedImage, Cwd: p.Cwd}
	}
	return s
}

// runSpec is the run of plan p with ro: the derived image when there is a
// working folder, else the plan's image.
func runSpec(p *bottle.Plan, ro RunOptions) Spec {
	image := p.Image
	if p.DerivedImage != "" {
		image = p.DerivedImage
	}
	c := ro.Containment
	c.UID, c.GID, c.UserName = currentUser() // the agent is whoever launches it
	return Spec{
		Slug: p.Slug, Image: image, Cwd: p.Cwd, Bottle: p.State,
		Cmd: ro.Cmd, Env: ro.Env, TranscriptDir: ro.TranscriptDir,
		Resume: ro.Resume, Keep: ro.Keep, Attach: ro.Attach, Transcript: ro.Transcript,
		Stdin: ro.Stdin, Stdout: ro.Stdout, Stderr: ro.Stderr,
		TTY: ro.TTY, Terminal: ro.Terminal, Log: ro.Log,
		Containment: c,
	}
}
