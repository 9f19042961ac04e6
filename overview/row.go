package overview

import (
	"time"

	"github.com/claude-bottle/claude-bottle/state"
)

// Status is what a bottle is doing, as one word a row.
type Status string

// Statuses, in the order one wins over the next: a bottle that builds
// while its agent waits is building.
const (
	// Building: an image of the bottle is being built (a capability
	// change, an approval or a build holds its state lock, an approved
	// request is applying, or the dashboard runs a build of it).
	Building Status = "building"
	// Waiting: the bottle has requests waiting for the operator.
	Waiting Status = "waiting for approval"
	// Running: its container runs.
	Running Status = "running"
	// Stopped: none of the above.
	Stopped Status = "stopped"
)

// Image kinds: the shared image built from the repo's Dockerfile, or the
// bottle's own built from its override.
const (
	KindBase    = "base"
	KindRebuilt = "rebuilt"
)

// Row is one bottle at a glance.
type Row struct {
	Slug   string `json:"slug"`
	Status Status `json:"status"`
	// Image is the image the bottle runs on.
	Image Image `json:"image"`
	// Drift says whether the bottle's override has gone stale.
	Drift Drift `json:"drift"`
	// Capabilities counts the bottle's capabilities.
	Capabilities int `json:"capabilities"`
	// Pending counts the requests waiting for the operator's decision;
	// Suggested the suggestions (from the hook), which wait for nobody.
	Pending   int `json:"pending"`
	Suggested int `json:"suggested"`
	// Transcript is the last transcript snapshot, if any.
	Transcript *state.SnapshotInfo `json:"transcript,omitempty"`
	// Cwd is the host folder the agent works in; CwdFrom says where it was
	// read: CwdContainer or CwdLastImage.
	Cwd     string `json:"cwd,omitempty"`
	CwdFrom string `json:"cwd_from,omitempty"`
	// Container is the bottle's container, if it has one.
	Container *Container `json:"container,omitempty"`
	// Problems says what of the bottle could not be read (a damaged file,
	// a missing repo Dockerfile); the rest of the row is still right.
	Problems []string `json:"problems,omitempty"`
}

// Where a row's cwd was read.
const (
	// CwdContainer: the bottle's container (running or kept).
	CwdContainer = "container"
	// CwdLastImage: the newest image layered for a folder of the bottle
	// (bottle.DerivedImage), i.e. its last launch with --cwd.
	CwdLastImage = "last launch"
)

// Image is a bottle's image.
type Image struct {
	// Tag is the tag the bottle runs on (bottle.Tag).
	Tag string `json:"tag"`
	// Kind is KindBase or KindRebuilt.
	Kind string `json:"kind"`
	// ID is the image's ID, "" when the engine has no such image (not
	// built yet).
	ID string `json:"id,omitempty"`
	// Created is when the image was built.
	Created *time.Time `json:"created,omitempty"`
}

// ShortID is the image ID's first 12 hex digits, or "" without one.
func (i Image) ShortID() string {
	const prefix = "sha256:"
	id := i.ID
	if len(id) > len(prefix) && id[:len(prefix)] == prefix {
		id = id[len(prefix):]
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// Age is how old the image is at now, 0 without one.
func (i Image) Age(now time.Time) time.Duration {
	if i.Created == nil {
		return 0
	}
	return now.Sub(*i.Created)
}

// Drift is the state of a bottle's override against its base.
type Drift struct {
	// Stale: the base changed since the override was rendered;
	// StaleSince is when the base changed.
	Stale      bool       `json:"stale"`
	StaleSince *time.Time `json:"stale_since,omitempty"`
	// NeedsBuild: the override changed since it was built.
	NeedsBuild bool `json:"needs_build"`
	// Hint says what to do about it, "" when nothing.
	Hint string `json:"hint,omitempty"`
}

// Container is a bottle's container.
type Container struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// State is the engine's word for it: running, exited, created...
	State string `json:"state"`
	// Image is the image it was created from (the derived image with a
	// cwd).
	Image string `json:"image"`
	// StartedAt is when it started, for a running container.
	StartedAt *time.Time `json:"started_at,omitempty"`
}

// Running reports whether the container runs.
func (c *Container) Running() bool { return c != nil && c.State == "running" }

// Uptime is how long the bottle has run at now, 0 when it does not run.
func (r *Row) Uptime(now time.Time) time.Duration {
	if !r.Container.Running() || r.Container.StartedAt == nil {
		return 0
	}
	return now.Sub(*r.Container.StartedAt)
}
