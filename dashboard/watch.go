package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/request"
)

// Overview is the data of the "overview" event, which every page gets on
// connecting and whenever it changes: the rows, and the requests waiting
// for the operator.
type Overview struct {
	Bottles  []overview.Row     `json:"bottles"`
	Requests []*request.Request `json:"requests"`
	// Problem says why the rows could not be read (the engine is down),
	// "" when they could.
	Problem string `json:"problem,omitempty"`
}

// fallback is how often the rows are read again with no change seen:
// requests expire and images age without an event.
const fallback = 5 * time.Second

// watch reads the rows again whenever the state folder, the engine's
// containers or images, or the locks change, and publishes what changed.
func (s *Server) watch(ctx context.Context) {
	go s.watchEngine(ctx)
	go s.watchState(ctx)
	tick := time.NewTicker(fallback)
	defer tick.Stop()
	kicked := false
	for {
		s.refresh(ctx)
		if kicked {
			// A bottle's page reads its detail again: its files or
			// images changed even when its row did not.
			s.publish("changed", struct{}{})
		}
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
			kicked = true
		case <-tick.C:
			kicked = false
		}
		// Let a burst of changes (a build's tags, a request's writes)
		// settle into one read.
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// poke asks the watcher to read the rows again soon.
func (s *Server) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// refresh reads the rows and the open requests and publishes them when
// they differ from the last published; it reports whether they did.
func (s *Server) refresh(ctx context.Context) bool {
	ov := s.readOverview(ctx)
	data, err := json.Marshal(ov)
	if err != nil {
		return false
	}
	s.mu.Lock()
	same := bytes.Equal(data, s.current)
	s.current = data
	s.mu.Unlock()
	if !same {
		s.hub.publish(message{event: "overview", data: data})
	}
	return !same
}

// readOverview reads what the "overview" event carries.
func (s *Server) readOverview(ctx context.Context) Overview {
	ov := Overview{Bottles: []overview.Row{}, Requests: []*request.Request{}}
	rows, err := overview.List(ctx, s.overviewOptions())
	if err != nil {
		ov.Problem = err.Error()
		return ov
	}
	ov.Bottles = rows
	open, err := s.openRequests()
	if err != nil {
		ov.Problem = err.Error()
	}
	ov.Requests = open
	return ov
}

// openRequests lists every bottle's requests waiting for the operator,
// oldest first.
func (s *Server) openRequests() ([]*request.Request, error) {
	all, err := s.requests.ListAll()
	out := []*request.Request{}
	for _, r := range all {
		if r.State == bottleapi.StatePending && (r.Deadline.IsZero() || time.Now().Before(r.Deadline)) || r.State == bottleapi.StateSuggested {
			out = append(out, r)
		}
	}
	return out, err
}

// current returns the last overview published, reading it if none was.
func (s *Server) currentOverview(ctx context.Context) []byte {
	s.mu.Lock()
	data := s.current
	s.mu.Unlock()
	if data != nil {
		return data
	}
	data, _ = json.Marshal(s.readOverview(ctx))
	return data
}

// publish sends an event to every page.
func (s *Server) publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	s.hub.publish(message{event: event, data: data})
}

// watchEngine pokes the watcher on every event of a bottle's container or
// of a claude-bottle image, reconnecting when the stream ends. The engine
// going away or coming back is a change too (said once, not at each
// failed reconnection).
func (s *Server) watchEngine(ctx context.Context) {
	filters := make(client.Filters).Add("type", string(events.ContainerEventType), string(events.ImageEventType))
	down := false
	for ctx.Err() == nil {
		res := s.o.Engine.Events(ctx, client.EventsListOptions{Filters: filters})
		began, got := time.Now(), false
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-res.Messages:
				got = true
				if ours(m) {
					s.poke()
				}
			case err := <-res.Err:
				s.o.Log.Debug("engine event stream ended", "err", err)
				break stream
			}
		}
		// A stream that ran a while or carried events was up: its end
		// is news. One that failed at once is news only the first time.
		if up := got || time.Since(began) > time.Second; up || !down {
			s.poke()
		}
		down = !got && time.Since(began) <= time.Second
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// ours reports whether an engine event concerns a bottle: a container with
// the slug label, or an image named claude-bottle-*.
func ours(m events.Message) bool {
	a := m.Actor.Attributes
	switch m.Type {
	case events.ContainerEventType:
		return a[bottle.SlugLabel] != ""
	case events.ImageEventType:
		name := a["name"]
		return name == "" || strings.HasPrefix(name, "claude-bottle")
	}
	return false
}

// watchState pokes the watcher when the state folder or the system's
// file locks change (a lock held means a build; see overview).
func (s *Server) watchState(ctx context.Context) {
	var last [32]byte
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	for {
		if sig := s.stateSignature(); sig != last {
			last = sig
			s.poke()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// stateSignature hashes what the state folder holds (names, sizes,
// times, inodes of every bottle's files and of its requests/ and
// previous/ folders; a transcript only by its folder, which a snapshot
// replaces whole), the repo's Dockerfile and the system's flock lines.
func (s *Server) stateSignature() [32]byte {
	h := sha256.New()
	root := s.o.Store.StateDir()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		depth := strings.Count(rel, string(filepath.Separator))
		if d.IsDir() && (depth >= 2 || depth == 1 && d.Name() == "transcript") {
			stamp(h, rel, p)
			return filepath.SkipDir
		}
		stamp(h, rel, p)
		return nil
	})
	// The repo's Dockerfile is the base of repo-based overrides: its
	// change makes them stale.
	if s.o.Repo != "" {
		stamp(h, "repo", filepath.Join(s.o.Repo, "Dockerfile"))
	}
	if locks, err := os.ReadFile("/proc/locks"); err == nil {
		for _, l := range strings.Split(string(locks), "\n") {
			if strings.Contains(l, "FLOCK") && !strings.Contains(l, "->") {
				f := strings.Fields(l)
				if len(f) >= 6 {
					fmt.Fprintln(h, f[5])
				}
			}
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func stamp(h interface{ Write([]byte) (int, error) }, rel, path string) {
	fi, err := os.Lstat(path)
	if err != nil {
		return
	}
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\n", rel, fi.Size(), fi.ModTime().UnixNano(), ino)
}
