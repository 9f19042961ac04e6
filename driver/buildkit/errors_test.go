package buildkit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func sourceErr(err error, file string, line int32) error {
	return errdefs.WithSource(err, &errdefs.Source{
		Info:   &pb.SourceInfo{Filename: file},
		Ranges: []*pb.Range{{Start: &pb.Position{Line: line}, End: &pb.Position{Line: line}}},
	})
}

func TestClassify(t *testing.T) {
	b := &Builder{ep: standaloneEP}
	req := driver.Request{Dockerfile: "/repo/.bottle/Dockerfile", ContextDir: "/repo"}
	runDigest := digest.FromString("run")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		err     error
		feErr   error
		status  *client.SolveStatus
		want    error
		mention []string
	}{
		{"parse error from the frontend", context.Background(), errors.New("failed to solve: rpc error"),
			sourceErr(errors.New("unknown instruction: FOO"), "Dockerfile", 3), nil,
			driver.ErrInvalidDockerfile, []string{`"/repo/.bottle/Dockerfile" line 3`, "unknown instruction: FOO"}},
		{"typed source error", context.Background(), sourceErr(errors.New("bad flag"), "Dockerfile", 7), nil, nil,
			driver.ErrInvalidDockerfile, []string{"line 7", "bad flag"}},
		{"typed vertex error", context.Background(),
			errdefs.WrapVertex(sourceErr(errors.New("exit code: 2"), "Dockerfile", 5), runDigest), nil,
			&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: runDigest, Name: "[2/2] RUN make"}}},
			driver.ErrBuildFailed, []string{`step "[2/2] RUN make"`, "line 5", "exit code: 2"}},
		{"untyped error, failed step in progress", context.Background(), errors.New("executor failed: exit code: 1"), nil,
			&client.SolveStatus{Vertexes: []*client.Vertex{{Digest: runDigest, Name: "[3/3] RUN false", Error: "exit code: 1"}}},
			driver.ErrBuildFailed, []string{`step "[3/3] RUN false"`}},
		{"canceled", canceled, context.Canceled, nil, nil, driver.ErrCanceled, []string{"canceled"}},
		{"daemon gone", context.Background(), fmt.Errorf("solve: %w", errDaemonGone), nil, nil,
			driver.ErrDaemonUnreachable, []string{standaloneEP.addr, "restart"}},
		{"unavailable", context.Background(), status.Error(codes.Unavailable, "connection refused"), nil, nil,
			driver.ErrDaemonUnreachable, []string{"BUILDKIT_HOST"}},
		{"already classified", context.Background(), fmt.Errorf("x: %w", driver.ErrUnsupported), nil, nil,
			driver.ErrUnsupported, nil},
		{"anything else", context.Background(), errors.New("failed to compute cache key"), nil, nil,
			driver.ErrBuildFailed, []string{req.Dockerfile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPump(nil)
			ch := make(chan *client.SolveStatus, 1)
			if tt.status != nil {
				ch <- tt.status
			}
			close(ch)
			p.run(ch)
			p.feErr = tt.feErr
			err := b.classify(tt.ctx, tt.err, req, p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("classify = %v, want %v", err, tt.want)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
}

func TestPumpStopsAfterStop(t *testing.T) {
	var got int
	p := newPump(driver.SinkFunc(func(*driver.Event) { got++ }))
	ch := make(chan *client.SolveStatus)
	go p.run(ch)
	ch <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: "a", Completed: ptr(time.Now())}}}
	p.stop()
	ch <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: "b", Completed: ptr(time.Now())}}}
	close(ch)
	p.wait()
	if got != 1 || p.counter.Count().Total != 1 {
		t.Errorf("sink got %d events, counted %+v; want 1 before stop and none after", got, p.counter.Count())
	}
}

func ptr[T any](v T) *T { return &v }

// TestDaemonGone: a broken connection or a daemon that stopped answering
// is the daemon's going, which wins over the engine load it broke; any
// other failure is not.
func TestDaemonGone(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("solve: %w", errDaemonGone), true},
		{status.Error(codes.Unavailable, "error reading from server: EOF"), true},
		{status.Error(codes.Unknown, "process did not complete successfully"), false},
		{errors.New("read/write on closed pipe"), false},
	} {
		if got := daemonGone(c.err); got != c.want {
			t.Errorf("daemonGone(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
