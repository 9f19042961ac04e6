package buildkit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
)

// classify turns a failed solve's error into one of the driver's error
// classes, with a message that says where and what.
func (b *Builder) classify(ctx context.Context, err error, req driver.Request, p *pump) error {
	switch {
	case errors.Is(err, errDaemonGone):
		return fmt.Errorf("%w: BuildKit at %q: %w (no answer for %v; is it still running? restart it and build again)", driver.ErrDaemonUnreachable, b.ep.String(), errDaemonGone, deadAfter)
	case ctx.Err() != nil:
		return driver.Canceled(ctx, fmt.Errorf("build of %q canceled: %w", req.Dockerfile, err))
	case isClassified(err):
		return err
	}
	var verr *errdefs.VertexError
	if errors.As(err, &verr) {
		step := p.name(verr.Digest)
		if step == "" {
			step = verr.Digest
		}
		return fmt.Errorf("%w: step %q%s: %w", driver.ErrBuildFailed, step, where(req, err), err)
	}
	if step := p.failedStep(); step != "" {
		// Older daemons (the engine's) return errors without their types;
		// the progress stream still says which step failed.
		return fmt.Errorf("%w: step %q in %q: %w", driver.ErrBuildFailed, step, req.Dockerfile, err)
	}
	if fe := p.frontendErr(); fe != nil && len(errdefs.Sources(fe)) > 0 {
		err = fe
	}
	if len(errdefs.Sources(err)) > 0 {
		return fmt.Errorf("%w: %s: %w (fix the Dockerfile and build again)", driver.ErrInvalidDockerfile, strings.TrimPrefix(where(req, err), " at "), err)
	}
	if grpcerrors.Code(err) == codes.Unavailable {
		return b.unreachable(err)
	}
	return fmt.Errorf("%w: %q: %w", driver.ErrBuildFailed, req.Dockerfile, err)
}

// where names the Dockerfile lines an error points at (" at FILE line N"),
// or the Dockerfile alone when BuildKit gave no location.
func where(req driver.Request, err error) string {
	srcs := errdefs.Sources(err)
	if len(srcs) == 0 {
		return fmt.Sprintf(" in %q", req.Dockerfile)
	}
	src := srcs[len(srcs)-1]
	file := src.GetInfo().GetFilename()
	if _, name := req.DockerfileDir(); file == name || file == "" {
		file = req.Dockerfile
	} else if !filepath.IsAbs(file) {
		file = filepath.Join(req.ContextDir, file)
	}
	line := int32(0)
	if rs := src.GetRanges(); len(rs) > 0 {
		line = rs[0].GetStart().GetLine()
	}
	if line == 0 {
		return fmt.Sprintf(" at %q", file)
	}
	return fmt.Sprintf(" at %q line %d", file, line)
}

// isClassified reports whether err already carries a driver error class
// (from the driver's own checks or its export functions).
func isClassified(err error) bool {
	for _, c := range []error{driver.ErrInvalidRequest, driver.ErrInvalidDockerfile, driver.ErrUnsupported,
		driver.ErrDaemonUnreachable, driver.ErrCanceled, driver.ErrNotFound} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// daemonGone reports whether a solve failed because its daemon went away:
// it stopped answering the health probes, or its connection broke.
func daemonGone(err error) bool {
	return errors.Is(err, errDaemonGone) || grpcerrors.Code(err) == codes.Unavailable
}
