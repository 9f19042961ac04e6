package buildkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
	"github.com/moby/moby/api/pkg/stdcopy"
	dockerclient "github.com/moby/moby/client"
	"google.golang.org/grpc"
)

// newDockerClient makes an engine API client for cfg.DockerHost, else for
// $DOCKER_HOST and the other DOCKER_* variables. It contacts nothing; the
// API version is negotiated on the first call, down to the engine's.
func newDockerClient(cfg driver.Config) (*dockerclient.Client, error) {
	opts := []dockerclient.Opt{dockerclient.FromEnv}
	if cfg.DockerHost != "" {
		opts = append(opts, dockerclient.WithHost(cfg.DockerHost))
	}
	c, err := dockerclient.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: docker host %q: %w (set DOCKER_HOST or --docker-host to unix:///var/run/docker.sock or tcp://HOST:PORT)", driver.ErrInvalidRequest, cfg.DockerHost, err)
	}
	return c, nil
}

// newBuildKitClient makes the BuildKit client for ep. grpc dials lazily, so
// this too contacts nothing until the first call.
func newBuildKitClient(ctx context.Context, ep endpoint, cfg driver.Config, docker *dockerclient.Client) (*client.Client, error) {
	var opts []client.ClientOpt
	addr := ep.addr
	switch ep.kind {
	case kindEngine:
		// The engine serves its BuildKit's control API as h2c on a hijacked
		// POST /grpc, and build sessions on POST /session, as buildx's
		// docker driver uses them.
		opts = append(opts,
			client.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				return docker.DialHijack(ctx, "/grpc", "h2c", nil)
			}),
			client.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
				return docker.DialHijack(ctx, "/session", proto, meta)
			}))
		addr = ""
	case kindContainer:
		opts = append(opts, client.WithContextDialer(containerDialer(docker, ep.addr)))
		addr = ""
	case kindTCP:
		opts = append(opts, tlsOpts(cfg.BuildKitTLS)...)
	}
	// Fixed flow-control windows bound what the control connection (which
	// also tunnels the session, and so a load's export stream) may buffer
	// in this process: gRPC's default lets them grow with the bandwidth-
	// delay product, and a big load then queued ~150 MB of frames here.
	opts = append(opts,
		client.WithGRPCDialOption(grpc.WithInitialWindowSize(flowWindow)),
		client.WithGRPCDialOption(grpc.WithInitialConnWindowSize(flowWindow)))
	c, err := client.New(ctx, addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: BuildKit at %s: %w", driver.ErrDaemonUnreachable, ep, err)
	}
	return c, nil
}

// flowWindow is the gRPC flow-control window of the BuildKit connection.
const flowWindow = 4 << 20

func tlsOpts(t driver.TLSConfig) []client.ClientOpt {
	if !hasTLS(t) {
		return nil
	}
	var opts []client.ClientOpt
	if t.CA != "" {
		opts = append(opts, client.WithServerConfig(t.ServerName, t.CA))
	} else {
		opts = append(opts, client.WithServerConfigSystem(t.ServerName))
	}
	if t.Cert != "" || t.Key != "" {
		opts = append(opts, client.WithCredentials(t.Cert, t.Key))
	}
	return opts
}

// containerDialer reaches a buildkitd running in a container of the engine
// by running "buildctl dial-stdio" in it through the engine API's exec
// endpoint, as buildx's docker-container driver does, so that no docker CLI
// is needed.
func containerDialer(docker *dockerclient.Client, name string) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, _ string) (net.Conn, error) {
		ex, err := docker.ExecCreate(ctx, name, dockerclient.ExecCreateOptions{
			Cmd:         []string{"buildctl", "dial-stdio"},
			AttachStdin: true, AttachStdout: true, AttachStderr: true,
		})
		if err != nil {
			return nil, fmt.Errorf("run buildctl dial-stdio in container %q: %w", name, err)
		}
		att, err := docker.ExecAttach(ctx, ex.ID, dockerclient.ExecAttachOptions{})
		if err != nil {
			return nil, fmt.Errorf("attach to buildctl dial-stdio in container %q: %w", name, err)
		}
		return newStdioConn(att.HijackedResponse, name), nil
	}
}

// stdioConn is a net.Conn over an exec's hijacked streams: writes go to the
// process's stdin, reads come from its stdout, demultiplexed from the
// engine's framed stream.
type stdioConn struct {
	net.Conn
	r *io.PipeReader
}

func newStdioConn(h dockerclient.HijackedResponse, name string) *stdioConn {
	pr, pw := io.Pipe()
	go func() {
		var stderr tailBuffer
		_, err := stdcopy.StdCopy(pw, &stderr, h.Reader)
		if msg := strings.TrimSpace(string(stderr)); err == nil && msg != "" {
			// buildctl says on stderr why it could not reach buildkitd.
			err = fmt.Errorf("buildctl dial-stdio in container %q: %s", name, msg)
		}
		pw.CloseWithError(err)
	}()
	return &stdioConn{Conn: h.Conn, r: pr}
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer []byte

func (b *tailBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	if len(*b) > 4096 {
		*b = (*b)[len(*b)-4096:]
	}
	return len(p), nil
}

func (c *stdioConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *stdioConn) Close() error {
	c.r.Close()
	return c.Conn.Close()
}
