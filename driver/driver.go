// Package driver defines the Builder interface that every claude-bottle image
// build driver implements, built-in or third-party, together with its typed
// request, result, progress events, error classes and a registry of drivers
// chosen by name.
package driver

import (
	"context"
	"time"
)

// Builder builds a Dockerfile into an image. Implementations must be safe for
// concurrent use: `claude-bottle build --jobs N` calls Build from several
// goroutines on one Builder.
type Builder interface {
	// Info describes the driver: its name, version and what it can do.
	Info(ctx context.Context) (Info, error)
	// Check reports whether the driver can build here now. A nil error means
	// yes; otherwise the error says why not and what to do, and is classed
	// (ErrDaemonUnreachable, ErrUnsupported, ...).
	Check(ctx context.Context) error
	// Build runs one build and sends its progress to sink, which may be nil.
	// It returns when the build has finished or failed; progress is never
	// sent after it returns.
	Build(ctx context.Context, req Request, sink Sink) (*Result, error)
}

// Closer is implemented by a Builder that holds resources (connections,
// subprocesses) which its owner must release when done with it.
type Closer interface {
	Close() error
}

// Info is a driver's description of itself.
type Info struct {
	// Name is the name users pick the driver by (--driver=NAME).
	Name string `json:"name"`
	// Version is the driver's own version.
	Version string `json:"version"`
	// Endpoint names what the driver talks to (a BuildKit address, a docker
	// binary), for the user's eyes only.
	Endpoint string `json:"endpoint,omitempty"`
	// Features lists what the driver supports; a feature absent from the map
	// is unsupported.
	Features map[Feature]bool `json:"features,omitempty"`
	// Notes are human-readable limits worth telling the user (for example
	// the legacy builder's lack of secrets).
	Notes []string `json:"notes,omitempty"`
}

// Supports reports whether the driver declared feature f.
func (i Info) Supports(f Feature) bool { return i.Features[f] }

// Feature names an optional capability of a driver.
type Feature string

// Features a driver may declare in Info.Features. FeatureCacheExport is
// cache export other than inline (--cache-to type=registry or local):
// inline cache rides in the image and needs no feature.
const (
	FeatureSecrets                   Feature = "secrets"
	FeatureSSH                       Feature = "ssh"
	FeatureCacheExport               Feature = "cache-export"
	FeatureCacheImport               Feature = "cache-import"
	FeaturePush                      Feature = "push"
	FeatureMultiPlatform             Feature = "multi-platform"
	FeatureOutputs                   Feature = "outputs"
	FeatureDockerLoad                Feature = "docker-load"
	FeatureNoCacheFilter             Feature = "no-cache-filter"
	FeatureDockerignorePerDockerfile Feature = "dockerignore-per-dockerfile"
)

// Result is what a successful build produced.
type Result struct {
	// ImageID is the image's config digest ("sha256:..."), which is also the
	// Docker engine's image ID once the image is loaded there.
	ImageID string `json:"image_id"`
	// Digest is the manifest digest where known (after a push or an OCI
	// export), else empty.
	Digest string `json:"digest,omitempty"`
	// Tags are the names the image was given.
	Tags []string `json:"tags,omitempty"`
	// Steps counts the build's steps and how many came from cache.
	Steps StepCount `json:"steps"`
	// Duration is the wall time of the build.
	Duration time.Duration `json:"duration"`
	// Metadata holds driver-specific values (BuildKit's exporter response).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// StepCount counts the steps of a build.
type StepCount struct {
	Total  int `json:"total"`
	Cached int `json:"cached"`
}
