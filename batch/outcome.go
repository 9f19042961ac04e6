package batch

import (
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// SchemaVersion is the version of the Outcome's JSON form, the entries of
// `claude-bottle build --metadata-file`. It grows when a field changes
// meaning or goes away; new fields may appear within a version.
const SchemaVersion = 1

// Status says what became of one bottle in a batch.
type Status string

// The statuses a bottle's outcome can have.
const (
	// StatusBuilt: the build ran and at least one step was not cached.
	StatusBuilt Status = "built"
	// StatusCached: the build ran and every step came from the cache, so
	// the image is the one the last build made.
	StatusCached Status = "cached"
	// StatusUpToDate: nothing the image depends on changed since the
	// build recorded for it, and the engine still has that image under
	// the tag, so no build ran (see UpToDate).
	StatusUpToDate Status = "up-to-date"
	// StatusFailed: the build ran and failed; Error says why.
	StatusFailed Status = "failed"
	// StatusSkipped: the bottle was not built at all (canceled before its
	// turn, or left out because an earlier step for it failed); Error
	// says why.
	StatusSkipped Status = "skipped"
)

// Outcome is one bottle's result, as written to --metadata-file (schema
// SchemaVersion, documented in the README). A failed or skipped bottle
// carries no Image, ImageID or pushed name: a script that pushes or runs
// what the file names must never get the image an earlier build left.
type Outcome struct {
	// SchemaVersion is SchemaVersion, so a script can tell the format.
	SchemaVersion int `json:"schema_version"`
	// Slug is the bottle; Status what became of it.
	Slug   string `json:"slug"`
	Status Status `json:"status"`
	// Image is the local tag the build loaded into the Docker engine; empty
	// when the bottle did not build, or when --output replaced the load.
	Image string `json:"image,omitempty"`
	// ImageID is the image's config digest, the engine's image ID.
	ImageID string `json:"image_id,omitempty"`
	// Digest is the manifest digest, where the build made one (a push, an
	// OCI or docker archive).
	Digest string `json:"digest,omitempty"`
	// Pushed are the registry names the image was pushed as.
	Pushed []string `json:"pushed,omitempty"`
	// Outputs are the --output destinations this bottle's build wrote,
	// its {slug} filled in.
	Outputs []string `json:"outputs,omitempty"`
	// The keys docker buildx build writes to its metadata file, with the
	// same meaning: every name the image was given (comma-separated), its
	// manifest digest and its config digest (the engine's image ID).
	ImageName    string `json:"image.name,omitempty"`
	BxDigest     string `json:"containerimage.digest,omitempty"`
	ConfigDigest string `json:"containerimage.config.digest,omitempty"`

	// Dockerfile is what was built, Rebuilt whether it is the bottle's
	// own override, Driver the driver that built it and Duration how long
	// the build took, in seconds.
	Dockerfile string  `json:"dockerfile"`
	Rebuilt    bool    `json:"rebuilt"`
	Driver     string  `json:"driver"`
	Duration   float64 `json:"duration_seconds"`
	// Steps counts the Dockerfile's steps that ran and how many came from
	// the cache: the same for the same build, whatever else the builder
	// reports (loading metadata, exporting) from run to run.
	Steps driver.StepCount `json:"steps"`
	// Builder is the member of a builder pool the build ran on, and
	// BuilderReason why (the owner of its base by rendezvous hash, the next
	// in hash order when the owner was full or down); both empty without a
	// pool.
	Builder       string `json:"builder,omitempty"`
	BuilderReason string `json:"builder_reason,omitempty"`
	// FailedOver names the pool member the build's first attempt died on,
	// and FailoverError why, when it was retried on Builder.
	FailedOver    string `json:"failed_over,omitempty"`
	FailoverError string `json:"failover_error,omitempty"`
	// SharedWith names the bottle whose build produced this image, when
	// this bottle did not build it itself.
	SharedWith string `json:"shared_with,omitempty"`
	// Error is why the bottle failed or was skipped, whole.
	Error string `json:"error,omitempty"`
	// ErrorAt is the Dockerfile line of the step that failed, when known.
	ErrorAt *Location `json:"error_at,omitempty"`

	// Tag is the local tag the plan builds, for tables; not serialised,
	// since a failed bottle's tag names an older image.
	Tag string `json:"-"`
	// Err is the build's error, for errors.Is; not serialised.
	Err error `json:"-"`
	// RecordErr is why BuildHeld could not record a successful build
	// (the image is built all the same); not serialised.
	RecordErr error `json:"-"`
}

// Location is where in a Dockerfile a failed step is: the file, and the
// first and last line of the instruction (1-based).
type Location struct {
	Dockerfile string `json:"dockerfile"`
	Line       int    `json:"line"`
	EndLine    int    `json:"end_line,omitempty"`
	// Step is the step's name as the builder reported it.
	Step string `json:"step,omitempty"`
}

// OK reports whether the bottle has its image: built, cached or up to
// date.
func (o Outcome) OK() bool {
	return o.Status == StatusBuilt || o.Status == StatusCached || o.Status == StatusUpToDate
}

// Failed returns the outcomes of bottles that were not built: failed or
// skipped.
func Failed(outs []Outcome) []Outcome {
	var f []Outcome
	for _, o := range outs {
		if !o.OK() {
			f = append(f, o)
		}
	}
	return f
}

// ErrorLine returns the outcome's error on one line, whole: lines joined,
// runs of spaces folded, nothing cut (the end of a build error holds its
// exit code).
func (o Outcome) ErrorLine() string {
	return strings.Join(strings.Fields(o.Error), " ")
}
