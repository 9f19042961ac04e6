package wire

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestErrorClassesCrossTheBoundary(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
		is   []error
	}{
		{"daemon", fmt.Errorf("dial unix /run/buildkit.sock: %w", driver.ErrDaemonUnreachable), codes.Unavailable, []error{driver.ErrDaemonUnreachable}},
		{"dockerfile", fmt.Errorf("%w: line 3: unknown instruction FORM", driver.ErrInvalidDockerfile), codes.InvalidArgument, []error{driver.ErrInvalidDockerfile}},
		{"request", fmt.Errorf("%w: no tag", driver.ErrInvalidRequest), codes.InvalidArgument, []error{driver.ErrInvalidRequest}},
		{"unsupported", fmt.Errorf("%w: --push", driver.ErrUnsupported), codes.Unimplemented, []error{driver.ErrUnsupported}},
		{"build failed", fmt.Errorf("%w: RUN make: exit 2", driver.ErrBuildFailed), codes.Aborted, []error{driver.ErrBuildFailed}},
		{"not found", fmt.Errorf("secret %q: %w", "tok", driver.ErrNotFound), codes.NotFound, []error{driver.ErrNotFound}},
		{"crashed", fmt.Errorf("driver %q crashed: %w", "inner", driver.ErrDriverCrashed), codes.Internal, []error{driver.ErrDriverCrashed}},
		{"canceled build", driver.Canceled(canceledCtx(), fmt.Errorf("%w: step 2", driver.ErrBuildFailed)), codes.Canceled,
			[]error{driver.ErrCanceled, driver.ErrBuildFailed}},
		{"context", fmt.Errorf("waiting: %w", context.DeadlineExceeded), codes.DeadlineExceeded, []error{context.DeadlineExceeded}},
		{"no class", errors.New("something odd"), codes.Unknown, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := ToStatus(tc.err)
			if got := status.Code(st); got != tc.code {
				t.Errorf("code = %v, want %v", got, tc.code)
			}
			// Through the wire: a status proto, as gRPC carries it.
			wire := status.FromProto(status.Convert(st).Proto()).Err()
			back, handler := FromStatus(wire)
			if !handler {
				t.Fatalf("FromStatus(%v) did not see the handler's detail", wire)
			}
			if back.Error() != tc.err.Error() {
				t.Errorf("message changed:\n got %q\nwant %q", back.Error(), tc.err.Error())
			}
			for _, class := range tc.is {
				if !errors.Is(back, class) {
					t.Errorf("errors.Is(%v, %v) = false", back, class)
				}
			}
			for _, c := range errorClasses {
				if !contains(tc.is, c.err) && errors.Is(back, c.err) {
					t.Errorf("error gained class %v", c.err)
				}
			}
		})
	}
}

func TestFromStatusWithoutDetailIsNotTheHandlers(t *testing.T) {
	for _, err := range []error{
		status.Error(codes.Unavailable, "connection reset by peer"),
		errors.New("transport is closing"),
	} {
		if _, handler := FromStatus(err); handler {
			t.Errorf("FromStatus(%v) claims a handler error", err)
		}
	}
}

func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func contains(errs []error, e error) bool {
	for _, x := range errs {
		if x == e {
			return true
		}
	}
	return false
}
