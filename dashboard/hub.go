package dashboard

import (
	"sync"
)

// message is one server-sent event.
type message struct {
	event string
	data  []byte
}

// hub fans messages out to the pages listening on /api/events. A page
// that cannot keep up is dropped; its EventSource reconnects and starts
// again from the current state.
type hub struct {
	mu     sync.Mutex
	subs   map[chan message]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan message]struct{}{}} }

// subscribe returns a channel of the messages published from now on, and
// the function that ends the subscription. The channel is closed when the
// hub closes or drops the subscriber.
func (h *hub) subscribe() (<-chan message, func()) {
	ch := make(chan message, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[ch]; ok {
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// publish sends m to every subscriber without waiting.
func (h *hub) publish(m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- m:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// close ends every subscription.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
