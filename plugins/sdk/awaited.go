package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
)

// A build served in process (InProcess) shares the caller's process, so
// there is no private TMPDIR for the host to remove after a cancel: the
// caller's Build instead waits for the driver's Build to return, as it
// must soon after its context ends, so that its clean-up has run when the
// caller's Build returns. awaitedCalls ties the two ends of a call by an
// ID sent in the call's metadata.
type awaitedCalls struct {
	calls sync.Map // ID -> *awaitedCall
}

// awaitedCall is one build the caller waits for.
type awaitedCall struct {
	startOnce sync.Once
	started   chan struct{} // closed when the driver's Build is called
	done      chan struct{} // closed when it has returned
}

const (
	// callIDKey is the metadata key of an awaited call's ID.
	callIDKey = "cb-inprocess-call"
	// startGrace is how long a call that ended early is waited for to
	// reach the server at all.
	startGrace = 250 * time.Millisecond
	// returnWait bounds the wait for the driver's Build to return.
	returnWait = 10 * time.Second
)

// expect registers a call and returns its context, carrying its ID, and
// the call.
func (a *awaitedCalls) expect(ctx context.Context) (context.Context, string, *awaitedCall) {
	b := make([]byte, 8)
	rand.Read(b)
	id := hex.EncodeToString(b)
	c := &awaitedCall{started: make(chan struct{}), done: make(chan struct{})}
	a.calls.Store(id, c)
	return metadata.AppendToOutgoingContext(ctx, callIDKey, id), id, c
}

// forget drops a call's registration.
func (a *awaitedCalls) forget(id string) { a.calls.Delete(id) }

// begin is called by the server's handler: it marks the call of ctx as
// started and returns the function to call when the driver's Build has
// returned (a no-op for a call nobody awaits).
func (a *awaitedCalls) begin(ctx context.Context) (end func()) {
	ids := metadata.ValueFromIncomingContext(ctx, callIDKey)
	if len(ids) == 0 {
		return func() {}
	}
	v, ok := a.calls.Load(ids[0])
	if !ok {
		return func() {}
	}
	c := v.(*awaitedCall)
	c.startOnce.Do(func() { close(c.started) })
	return func() { close(c.done) }
}

// wait waits, bounded, for the driver's Build of c to return; it reports
// false if it is still running.
func (c *awaitedCall) wait() bool {
	select {
	case <-c.started:
	case <-time.After(startGrace):
		return true // it never reached the driver
	}
	select {
	case <-c.done:
		return true
	case <-time.After(returnWait):
		return false
	}
}
