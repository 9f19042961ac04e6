package sdk

import (
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// inflight counts the calls being served, so that the process can let
// them end before it closes the Builder. Unlike a sync.WaitGroup it may be
// entered while someone waits: a call arriving as the server stops is
// refused instead.
type inflight struct {
	mu      sync.Mutex
	n       int
	closing bool
	idle    chan struct{} // closed once closing and no call is left
}

// errStopping refuses a call that arrives while the plugin stops.
var errStopping = status.Error(codes.Unavailable, "the driver plugin is stopping")

// enter counts a call in; it fails once the server is stopping.
func (f *inflight) enter() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return errStopping
	}
	f.n++
	return nil
}

// leave counts a call out.
func (f *inflight) leave() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.closing && f.n == 0 {
		close(f.idle)
	}
}

// drain refuses new calls and waits up to d for the ones in flight.
func (f *inflight) drain(d time.Duration) {
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		return
	}
	f.closing, f.idle = true, make(chan struct{})
	if f.n == 0 {
		close(f.idle)
	}
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
	case <-time.After(d):
	}
}
