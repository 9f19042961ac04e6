package wire

import (
	"context"
	"errors"

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
