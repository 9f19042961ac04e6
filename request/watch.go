package request

import (
	"context"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/state"
)

// Event is a change Watch saw in a bottle's requests.
type Event struct {
	// Request is the request as it now is.
	Request *Request
	// Previous is the state it had when last seen; "" for a request new
	// since the last look.
	Previous bottleapi.State
	// Initial marks the requests already there when Watch started.
	Initial bool
}

// Watch reports the bottle's requests as they appear and change, until
// ctx ends (then the channel is closed). It first reports every request
// already there (Initial), then new ones and changes of state. Decisions
// come from other processes (the CLI, the dashboard), so it polls the
// folder (every 200 ms): cheap for the few files a bottle has, and blind to
// none of the ways a file can be replaced.
func (s *Store) Watch(ctx context.Context, slug string) <-chan Event {
	ch := make(chan Event, 16)
	go func() {
		defer close(ch)
		w := watcher{store: s, slug: slug, seen: map[string]seenFile{}}
		initial := true
		for {
			for _, ev := range w.look(initial) {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
			initial = false
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.pollEvery):
			}
		}
	}()
	return ch
}

// seenFile is what the watcher knew of one request file.
type seenFile struct {
	info  state.FileInfo
	state bottleapi.State
}

type watcher struct {
	store *Store
	slug  string
	seen  map[string]seenFile
}

// look lists the folder and reads the files that changed since the last
// look. A folder that cannot be read now is tried again next time.
func (w *watcher) look(initial bool) []Event {
	b, err := w.store.st.Bottle(w.slug)
	if err != nil {
		return nil
	}
	files, err := b.ListFiles(Folder, fileExt)
	if err != nil {
		return nil
	}
	var events []Event
	for _, f := range files {
		id := strings.TrimSuffix(f.Name, fileExt)
		if bottleapi.ValidateID(id) != nil {
			continue
		}
		old, known := w.seen[id]
		if known && sameFile(old.info, f) {
			continue
		}
		r, err := w.store.read(b, id)
		if err != nil {
			continue
		}
		w.seen[id] = seenFile{info: f, state: r.State}
		switch {
		case !known:
			events = append(events, Event{Request: r, Initial: initial})
		case old.state != r.State:
			events = append(events, Event{Request: r, Previous: old.state})
		}
	}
	return events
}

// sameFile reports whether a listed file is the one seen before: an atomic
// write replaces the inode, and a write in place changes size or time.
func sameFile(a, b state.FileInfo) bool {
	return a.Inode == b.Inode && a.Size == b.Size && a.ModTime.Equal(b.ModTime)
}
