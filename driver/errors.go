package driver

import (
	"context"
	"errors"
	"fmt"
)

// Error classes. Drivers wrap them with %w and a message for the person who
// reads it; callers test them with errors.Is. They survive the plugin
// boundary as gRPC codes (see package plugins).
var (
	// ErrDaemonUnreachable: the builder's daemon (buildkitd, the Docker
	// engine) cannot be reached.
	ErrDaemonUnreachable = errors.New("build daemon unreachable")
	// ErrInvalidDockerfile: the Dockerfile cannot be read or parsed. It is
	// the one Dockerfile error class: package dockerfile, which parses
	// Dockerfiles for everyone, calls it dockerfile.ErrInvalid (the same
	// value), and it is declared here so that a plugin can name it without
	// linking a parser.
	ErrInvalidDockerfile = errors.New("invalid Dockerfile")
	// ErrInvalidRequest: a request field is malformed.
	ErrInvalidRequest = errors.New("invalid build request")
	// ErrUnsupported: the driver cannot honour a request field here.
	ErrUnsupported = errors.New("unsupported by this driver")
	// ErrCanceled: the build was canceled (Ctrl-C, a timeout).
	ErrCanceled = errors.New("build canceled")
	// ErrBuildFailed: a step of the build failed (a RUN exited non-zero, a
	// COPY source is missing).
	ErrBuildFailed = errors.New("build failed")
	// ErrNotFound: a named thing (driver, secret, image) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDriverCrashed: the driver's process died during a call.
	ErrDriverCrashed = errors.New("driver crashed")
)

// Canceled wraps err in ErrCanceled when ctx was canceled, so that a driver
// reports a Ctrl-C as a cancellation whatever error the daemon returned.
func Canceled(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil || errors.Is(err, ErrCanceled) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCanceled, err)
}
