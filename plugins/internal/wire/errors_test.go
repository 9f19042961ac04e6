package wire

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

func TestEnded(t *testing.T) {
	live := context.Background()
	soon, cancelSoon := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancelSoon()
	far, cancelFar := context.WithTimeout(context.Background(), time.Hour)
	defer cancelFar()
	tests := []struct {
		name  string
		ctx   context.Context
		err   error
		cause error // nil: not a call that ended with its context
	}{
		{"canceled here", canceledCtx(), errors.New("transport is closing"), context.Canceled},
		{"deadline there first", live, status.Error(codes.DeadlineExceeded, "stream terminated by RST_STREAM"), context.DeadlineExceeded},
		{"reset there near the deadline", soon, status.Error(codes.Canceled, "RST_STREAM with error code: CANCEL"), context.DeadlineExceeded},
		{"reset there, no deadline near", far, status.Error(codes.Canceled, "RST_STREAM with error code: CANCEL"), context.Canceled},
		{"connection lost", live, status.Error(codes.Unavailable, "connection reset by peer"), nil},
		{"other", live, errors.New("odd"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "reset there near the deadline" {
				time.Sleep(2 * time.Millisecond) // the other end's timer fired first; ours may or may not have
			}
			got := Ended(tc.ctx, tc.err, `driver "x"`)
			if tc.cause == nil {
				if got != nil {
					t.Errorf("Ended = %v, want nil", got)
				}
				return
			}
			if !errors.Is(got, driver.ErrCanceled) || !errors.Is(got, tc.cause) || !strings.Contains(got.Error(), `driver "x"`) {
				t.Errorf("Ended = %v; want driver.ErrCanceled caused by %v, naming the driver", got, tc.cause)
			}
		})
	}
}
