package wire

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// errorClass ties a driver error class to its name on the wire and to the
// gRPC code a status carrying it gets. The order matters: a status gets the
// code of the first class its error belongs to.
type errorClass struct {
	name string
	err  error
	code codes.Code
}

var errorClasses = []errorClass{
	{"canceled", driver.ErrCanceled, codes.Canceled},
	{"driver-crashed", driver.ErrDriverCrashed, codes.Internal},
	{"panicked", ErrPanicked, codes.Internal},
	{"daemon-unreachable", driver.ErrDaemonUnreachable, codes.Unavailable},
	{"invalid-dockerfile", driver.ErrInvalidDockerfile, codes.InvalidArgument},
	{"invalid-request", driver.ErrInvalidRequest, codes.InvalidArgument},
	{"unsupported", driver.ErrUnsupported, codes.Unimplemented},
	{"not-found", driver.ErrNotFound, codes.NotFound},
	{"build-failed", driver.ErrBuildFailed, codes.Aborted},
	{"context-canceled", context.Canceled, codes.Canceled},
	{"deadline-exceeded", context.DeadlineExceeded, codes.DeadlineExceeded},
}

// ToStatus turns a handler's error into the status sent to the other side:
// its full message, the code of its first class, and an ErrorDetail naming
// every class it belongs to. The detail is there even when the error has no
// class, so the receiver can tell a handler's error from a broken
// connection.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Unknown
	detail := &pb.ErrorDetail{}
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			if len(detail.Classes) == 0 {
				code = c.code
			}
			detail.Classes = append(detail.Classes, c.name)
		}
	}
	st, derr := status.New(code, err.Error()).WithDetails(detail)
	if derr != nil {
		// Only a detail that cannot be marshalled fails, and ours can.
		return status.Error(code, err.Error())
	}
	return st.Err()
}

// remoteError is an error that came across the plugin boundary: the
// other side's message, unchanged, and the classes it belonged to there.
type remoteError struct {
	msg     string
	classes []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.classes }

// FromStatus turns an error returned by a call across the boundary back
// into a classed error. handler is false when the error did not come from
// the other side's handler (no ErrorDetail): the connection or the process
// failed, and the caller must find out which.
func FromStatus(err error) (out error, handler bool) {
	st, ok := status.FromError(err)
	if !ok {
		return err, false
	}
	for _, d := range st.Details() {
		detail, ok := d.(*pb.ErrorDetail)
		if !ok {
			continue
		}
		re := &remoteError{msg: st.Message()}
		for _, name := range detail.GetClasses() {
			for _, c := range errorClasses {
				if c.name == name {
					re.classes = append(re.classes, c.err)
				}
			}
		}
		return re, true
	}
	return err, false
}

// Ended classifies the error of a call that carries no handler's detail
// but ended because its context did: canceled, or past its deadline. The
// deadline travels with the call, so the other end may notice it first and
// reset the stream before this side's timer fires: the status code
// (DeadlineExceeded, Canceled) then says so before ctx does. Ended returns
// a driver.ErrCanceled that also wraps the cause (context.Canceled or
// context.DeadlineExceeded), or nil when err is not such an error. what
// names the call's end for the message ("driver \"x\"").
func Ended(ctx context.Context, err error, what string) error {
	var cause error
	switch {
	case ctx.Err() != nil:
		cause = context.Cause(ctx)
	case status.Code(err) == codes.DeadlineExceeded:
		cause = context.DeadlineExceeded
	case status.Code(err) == codes.Canceled:
		cause = context.Canceled
		if d, ok := ctx.Deadline(); ok && time.Until(d) < deadlineSlack {
			cause = context.DeadlineExceeded
		}
	default:
		return nil
	}
	return fmt.Errorf("%w: %s: %w", driver.ErrCanceled, what, cause)
}

// deadlineSlack is how near its deadline a call reset by the other end
// counts as having reached it: the two ends' timers start apart.
const deadlineSlack = 50 * time.Millisecond
