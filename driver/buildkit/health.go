package buildkit

import (
	"context"
	"errors"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/util/grpcerrors"
	"google.golang.org/grpc/codes"
)

// Health watching: a daemon that is killed closes its socket and the solve
// fails at once, but one that hangs (frozen, or a network path that drops
// packets) would leave the solve waiting for ever. gRPC keepalive pings
// cannot be used, as buildkitd's server refuses pings more often than
// every five minutes, so the driver probes with the control API's Info
// call: cheap (ListWorkers re-detects emulated platforms by running
// helper binaries), and the engine's BuildKit, which lacks Info, still
// answers it at once with "unimplemented", which proves it alive.
const (
	probeEvery   = time.Second
	probeTimeout = 2 * time.Second
	// deadAfter without a successful probe, the daemon is taken for dead;
	// with the values above a hung daemon fails the build in 6 to 8s,
	// while a daemon slow to answer twice in a row is still given time.
	deadAfter = 5 * time.Second
)

// errDaemonGone is the cause a solve is canceled with when its daemon
// stops answering.
var errDaemonGone = errors.New("the daemon stopped answering during the build")

// watchDaemon probes bk until ctx ends. If no probe succeeds for deadAfter,
// it cancels ctx with errDaemonGone and closes the returned channel.
func watchDaemon(ctx context.Context, bk *client.Client, cancel context.CancelCauseFunc) <-chan struct{} {
	dead := make(chan struct{})
	go func() {
		t := time.NewTicker(probeEvery)
		defer t.Stop()
		lastOK := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			sent := time.Now()
			pctx, pcancel := context.WithTimeout(ctx, probeTimeout)
			_, err := bk.ControlClient().Info(pctx, &controlapi.InfoRequest{})
			pcancel()
			switch {
			case err == nil || grpcerrors.Code(err) == codes.Unimplemented:
				lastOK = sent
			case ctx.Err() != nil:
				return
			case time.Since(lastOK) >= deadAfter:
				cancel(errDaemonGone)
				close(dead)
				return
			}
		}
	}()
	return dead
}
