package main

import (
	"context"
	"errors"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/termsafe"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/plugins"
	"github.com/claude-bottle/claude-bottle/state"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks bad usage or bad input: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErr wraps err as bad usage (exit 2).
func usageErr(err error) error { return &usageError{err: err} }

// exitCodeError carries an exit code chosen by the command (a bottle's own
// exit status).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string { return e.err.Error() }
func (e *exitCodeError) Unwrap() error { return e.err }

// badInput lists the error classes that mean the user's input was wrong.
var badInput = []error{
	state.ErrInvalidSlug,
	dockerfile.ErrInvalid, // the same value as driver.ErrInvalidDockerfile
	driver.ErrInvalidRequest,
	driver.ErrUnsupported,
	errConfig,
	bottle.ErrNoRepo,
	bottle.ErrNoDockerfile,
	state.ErrUnsafe,
	plugins.ErrBadPlugin,
	plugins.ErrChecksum,
	plugins.ErrInvalidName,
	capability.ErrInvalid,
	capability.ErrExists,
	capability.ErrNotFound,
	capability.ErrNoCapabilities,
	capability.ErrNothingToRollBack,
	capability.ErrUnknownPackageManager,
	launch.ErrUnsafeCwd,
	launch.ErrBadLimits,
}

// exitCode maps an error to claude-bottle's exit code: 130/143 for SIGINT
// and SIGTERM, 2 for bad usage or input, the bottle's own code when it
// carried one, 1 otherwise.
func exitCode(ctx context.Context, err error) int {
	var se *signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	var ce *exitCodeError
	if errors.As(err, &ce) {
		return ce.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	for _, class := range badInput {
		if errors.Is(err, class) {
			return exitUsage
		}
	}
	return exitFailure
}

// errorLine renders err as one line for stderr.
func errorLine(err error) string {
	// The message may quote an engine, a daemon or a plugin: their escape
	// sequences must not reach the terminal.
	return termsafe.Text(oneLine(err.Error()))
}
