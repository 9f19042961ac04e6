package launch

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Connect returns an engine client for host ("" means $DOCKER_HOST or the
// default socket), negotiating the API version down to the engine's.
func Connect(host string) (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: docker host %q: %v", driver.ErrDaemonUnreachable, host, err)
	}
	return cli, nil
}

// ErrAlreadyRunning classes a launch of a bottle whose container runs.
var ErrAlreadyRunning = errors.New("bottle already running")

// engineError words an engine API error, naming an unreachable engine.
func engineError(what string, err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%w: %s: %v; is dockerd running? (check DOCKER_HOST or --docker-host)", driver.ErrDaemonUnreachable, what, err)
	}
	if lostConnection(err) {
		return fmt.Errorf("%w: %s: the connection to the Docker engine broke (%v); is dockerd running? (check DOCKER_HOST or --docker-host)", driver.ErrDaemonUnreachable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// lostConnection reports whether err means the engine went away mid-call.
func lostConnection(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}
