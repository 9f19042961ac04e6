package wire

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// Client is the host's end of one plugin connection. Its methods return
// raw gRPC errors; the caller classifies them (FromStatus first), because
// only it knows whether the process is still alive.
type Client struct {
	rpc    pb.DriverClient
	broker *plugin.GRPCBroker
}

// Configure sends the driver's configuration and returns the plugin's
// self-description.
func (c *Client) Configure(ctx context.Context, cfg driver.Config) (*pb.Description, error) {
	resp, err := c.rpc.Configure(ctx, &pb.ConfigureRequest{Config: configToPB(cfg)})
	if err != nil {
		return nil, err
	}
	return resp.GetDescription(), nil
}

// Info calls the driver's Info.
func (c *Client) Info(ctx context.Context) (driver.Info, error) {
	resp, err := c.rpc.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return driver.Info{}, err
	}
	return infoFromPB(resp), nil
}

// Check calls the driver's Check.
func (c *Client) Check(ctx context.Context) error {
	_, err := c.rpc.Check(ctx, &pb.CheckRequest{})
	return err
}

// errNoResult is a protocol violation: a Build stream that ended cleanly
// without a result.
var errNoResult = errors.New("the driver ended the build without a result or an error; report this to the driver's author")

// Build runs one build in the plugin, serving its secrets from the
// request's SecretSource (or the host's files and variables its specs
// name) and passing its progress to sink.
func (c *Client) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if sink == nil {
		sink = driver.Discard
	}
	breq := &pb.BuildRequest{Request: requestToPB(absPaths(req))}
	src := req.SecretSource
	if src == nil && len(req.Secrets) > 0 {
		// The specs name host files and variables: read them here, on
		// the host, not in the plugin.
		src = driver.HostSecrets(req.Secrets)
	}
	if src != nil {
		breq.SecretsBrokerId = c.broker.NextId()
		stop := serveSecrets(c.broker, breq.SecretsBrokerId, src)
		defer stop()
	}
	// Canceling on return releases the stream whatever path we leave by.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Build(ctx, breq)
	if err != nil {
		return nil, err
	}
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, errNoResult
		}
		if err != nil {
			return nil, err
		}
		for _, ev := range msg.GetEvents() {
			sink.Send(eventFromPB(ev))
		}
		if r := msg.GetResult(); r != nil {
			return resultFromPB(r), nil
		}
	}
}

// absPaths makes the request's paths absolute: the plugin shares the host's
// file system and working folder, but a driver may change its own.
func absPaths(req driver.Request) driver.Request {
	if p, err := filepath.Abs(req.Dockerfile); err == nil && req.Dockerfile != "" {
		req.Dockerfile = p
	}
	if p, err := filepath.Abs(req.ContextDir); err == nil && req.ContextDir != "" {
		req.ContextDir = p
	}
	return req
}

// serveSecrets serves src as the Secrets service on broker stream id until
// the returned stop function is called.
func serveSecrets(broker *plugin.GRPCBroker, id uint32, src driver.SecretSource) (stop func()) {
	var (
		mu      sync.Mutex
		srv     *grpc.Server
		stopped bool
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
			s := grpc.NewServer(opts...)
			pb.RegisterSecretsServer(s, &secretServer{src: src})
			mu.Lock()
			defer mu.Unlock()
			srv = s
			if stopped {
				s.Stop() // Serve then returns at once
			}
			return s
		})
	}()
	return func() {
		mu.Lock()
		stopped = true
		if srv != nil {
			srv.Stop()
		}
		mu.Unlock()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
}

// secretServer answers the plugin's requests for secret values.
type secretServer struct {
	pb.UnimplementedSecretsServer
	src driver.SecretSource
}

func (s *secretServer) GetSecret(ctx context.Context, req *pb.SecretRequest) (*pb.SecretResponse, error) {
	v, err := s.src.Secret(ctx, req.GetId())
	if err != nil {
		return nil, ToStatus(err)
	}
	return &pb.SecretResponse{Value: v}, nil
}

// NewSecretSource is the plugin's driver.SecretSource for one build: it
// asks the host over conn, the broker connection the build request named.
func NewSecretSource(conn *grpc.ClientConn) driver.SecretSource {
	return &secretClient{c: pb.NewSecretsClient(conn)}
}

// secretClient is the plugin's driver.SecretSource: it asks the host.
type secretClient struct {
	c pb.SecretsClient
}

func (s *secretClient) Secret(ctx context.Context, id string) ([]byte, error) {
	resp, err := s.c.GetSecret(ctx, &pb.SecretRequest{Id: id})
	if err != nil {
		if out, ok := FromStatus(err); ok {
			return nil, out
		}
		return nil, fmt.Errorf("secret %q: asking claude-bottle for it failed: %w", id, err)
	}
	return resp.GetValue(), nil
}
