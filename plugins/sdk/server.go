package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// server is the plugin's end: the Driver service over the Builder that
// Plugin.New made.
type server struct {
	pb.UnimplementedDriverServer
	p      Plugin
	log    *slog.Logger
	broker *plugin.GRPCBroker

	mu sync.Mutex
	b  driver.Builder
	// calls counts the calls in flight, so that the process can let them
	// end before it exits.
	calls inflight
	// awaited are the in-process builds whose caller waits for them.
	awaited awaitedCalls
}

func newServer(p Plugin, log *slog.Logger) *server {
	return &server{p: p, log: log}
}

// withBroker is the server's wire.ServerFunc: go-plugin hands it the
// broker once the connection is up.
func (s *server) withBroker(broker *plugin.GRPCBroker) pb.DriverServer {
	s.broker = broker
	return s
}

// Configure makes the Builder. A second call replaces it.
func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	if err := s.calls.enter(); err != nil {
		return nil, err
	}
	defer s.calls.leave()
	cfg := wire.ConfigFromPB(req.GetConfig())
	cfg.Logger = s.log
	b, err := safely(func() (driver.Builder, error) { return s.p.New(ctx, cfg) })
	if errors.Is(err, wire.ErrPanicked) {
		return nil, wire.ToStatus(err)
	}
	if err != nil {
		return nil, wire.ToStatus(fmt.Errorf("driver %q: %w", s.p.Name, err))
	}
	if b == nil {
		return nil, wire.ToStatus(fmt.Errorf("driver %q: New returned no builder and no error; report this to the driver's author", s.p.Name))
	}
	s.mu.Lock()
	old := s.b
	s.b = b
	s.mu.Unlock()
	closeBuilder(old, s.log)
	return &pb.ConfigureResponse{Description: s.p.description()}, nil
}

func (s *server) builder() (driver.Builder, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b == nil {
		return nil, status.Error(codes.FailedPrecondition, "driver not configured: the host must call Configure first")
	}
	return s.b, nil
}

// Info describes the driver.
func (s *server) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.DriverInfo, error) {
	if err := s.calls.enter(); err != nil {
		return nil, err
	}
	defer s.calls.leave()
	b, err := s.builder()
	if err != nil {
		return nil, err
	}
	info, err := safely(func() (driver.Info, error) { return b.Info(ctx) })
	if err != nil {
		return nil, wire.ToStatus(err)
	}
	return wire.InfoToPB(info), nil
}

// Check reports whether the driver can build here now.
func (s *server) Check(ctx context.Context, _ *pb.CheckRequest) (*pb.CheckResponse, error) {
	if err := s.calls.enter(); err != nil {
		return nil, err
	}
	defer s.calls.leave()
	b, err := s.builder()
	if err != nil {
		return nil, err
	}
	if _, err := safely(func() (struct{}, error) { return struct{}{}, b.Check(ctx) }); err != nil {
		return nil, wire.ToStatus(err)
	}
	return &pb.CheckResponse{}, nil
}

// Build runs one build, streaming its progress and then its result.
func (s *server) Build(req *pb.BuildRequest, stream pb.Driver_BuildServer) error {
	if err := s.calls.enter(); err != nil {
		return err
	}
	defer s.calls.leave()
	b, err := s.builder()
	if err != nil {
		return err
	}
	ctx := stream.Context()
	r := wire.RequestFromPB(req.GetRequest())
	if id := req.GetSecretsBrokerId(); id != 0 {
		// Dial at once: the broker forgets the host's address after 5 s.
		conn, err := s.broker.Dial(id)
		if err != nil {
			return wire.ToStatus(fmt.Errorf("driver %q: reaching claude-bottle for the build's secrets: %w", s.p.Name, err))
		}
		defer conn.Close()
		r.SecretSource = wire.NewSecretSource(conn)
	}
	snd := newEventSender(stream)
	end := s.awaited.begin(ctx)
	res, err := safely(func() (*driver.Result, error) { return b.Build(ctx, r, snd) })
	end()
	// Everything the driver sent goes out before the result or the error,
	// a recovered panic's included: the user sees the steps it had made.
	if serr := snd.close(); serr != nil && err == nil {
		return serr // the host is gone; nothing to report to
	}
	if errors.Is(err, wire.ErrPanicked) {
		return wire.ToStatus(err)
	}
	if err != nil {
		return wire.ToStatus(driver.Canceled(ctx, err))
	}
	if res == nil {
		return wire.ToStatus(fmt.Errorf("driver %q: Build returned no result and no error; report this to the driver's author", s.p.Name))
	}
	return stream.Send(&pb.BuildResponse{Result: wire.ResultToPB(res)})
}

// safely runs one of the driver's methods, turning a panic in it into a
// wire.ErrPanicked error that carries the panic and its trace. The host
// reports it as the driver's crash (the trace shown once, in the error)
// and replaces the process.
func safely[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = wire.Panicked(r, debug.Stack())
		}
	}()
	return f()
}

// close releases the Builder once serving has ended.
func (s *server) close() {
	s.mu.Lock()
	b := s.b
	s.b = nil
	s.mu.Unlock()
	closeBuilder(b, s.log)
}

func closeBuilder(b driver.Builder, log *slog.Logger) {
	if c, ok := b.(driver.Closer); ok {
		if err := c.Close(); err != nil {
			log.Warn("closing the driver", "error", err)
		}
	}
}
