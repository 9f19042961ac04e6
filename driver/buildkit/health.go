package buildkit

import (
	"context"
	"errors"
	"time"

	"github.com/moby/buildkit/client"
)

// Health watching: a daemon that is killed closes its socket and the solve
// fails at once, but one that hangs (frozen, or a network path that drops
// packets) would leave the solve waiting for ever. gRPC keepalive pings
// cannot be used, as buildkitd's server refuses pings more often than
// every five minutes, so the driver probes with ListWorkers, which every
// BuildKit, the engine's included, answers from memory.
const (
	probeEvery   = time.Second
	probeTimeout = 2 * time.Second
	// deadAfter without a successful probe, the daemon is taken for dead;
	// with the values above a hung daemon fails the build in about 7s.
	deadAfter = 4 * time.Second
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
			_, err := bk.ListWorkers(pctx)
			pcancel()
			switch {
			case err == nil:
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
