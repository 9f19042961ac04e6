package launch

import (
	"io"
	"sync"
)

// stdinRelay reads the host's input once for a whole supervision and
// hands it to whichever container is attached now. Each run's attach copies
// from a reader of its own; without the relay, the reader of a container
// stopped by a swap would still be blocked on the terminal and steal the
// first keystroke meant for the next one.
type stdinRelay struct {
	chunks  chan []byte
	mu      sync.Mutex
	pending []byte
}

// newStdinRelay starts reading in.
func newStdinRelay(in io.Reader) *stdinRelay {
	s := &stdinRelay{chunks: make(chan []byte)}
	go func() {
		defer close(s.chunks)
		for {
			buf := make([]byte, 4096)
			n, err := in.Read(buf)
			if n > 0 {
				s.chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return s
}

// attach returns a reader for one container's run; detach it when the run
// ends, and what it had not yet taken goes to the next one.
func (s *stdinRelay) attach() *relayReader {
	return &relayReader{s: s, done: make(chan struct{})}
}

// relayReader is one run's view of the relayed input.
type relayReader struct {
	s    *stdinRelay
	done chan struct{}
	once sync.Once
}

// Read returns relayed input, or io.EOF once detached or when the host's
// input ended.
func (r *relayReader) Read(p []byte) (int, error) {
	select {
	case <-r.done:
		return 0, io.EOF
	default:
	}
	if n := r.s.takePending(p); n > 0 {
		return n, nil
	}
	select {
	case <-r.done:
		return 0, io.EOF
	case b, ok := <-r.s.chunks:
		if !ok {
			return 0, io.EOF
		}
		select {
		case <-r.done: // taken after the run ended: keep it for the next
			r.s.putBack(b)
			return 0, io.EOF
		default:
		}
		n := copy(p, b)
		if n < len(b) {
			r.s.putBack(b[n:])
		}
		return n, nil
	}
}

// detach ends the reader: its Read returns io.EOF.
func (r *relayReader) detach() { r.once.Do(func() { close(r.done) }) }

func (s *stdinRelay) takePending(p []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n
}

func (s *stdinRelay) putBack(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(append([]byte{}, b...), s.pending...)
}
