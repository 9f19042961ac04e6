package inbottle

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// host is the real host side of one bottle's socket, in this process: the
// request store on a fresh state root and the server on a unix socket.
type host struct {
	store  *request.Store
	socket string
}

func startHost(t *testing.T, root, slug string) *host {
	t.Helper()
	st, err := state.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	store := request.NewStore(st)
	rd, err := request.PrepareRunDir(root, slug)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rd.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := request.NewServer(request.ServerOptions{Store: store, Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &host{store: store, socket: rd.Socket}
}

func newRoot(t *testing.T) string { return filepath.Join(t.TempDir(), "home") }

// decideWhenAsked waits for the bottle's first pending request and runs
// decide on it.
func (h *host) decideWhenAsked(t *testing.T, slug string, decide func(id string)) {
	t.Helper()
	go func() {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			rs, _ := h.store.List(slug)
			for _, r := range rs {
				if r.State == "pending" {
					decide(r.ID)
					return
				}
			}
		}
	}()
}

// applier builds nothing: it answers what it is told.
type applier struct {
	err   error
	image string
}

func (a applier) Apply(context.Context, request.ApplyInput) (request.ApplyResult, error) {
	return request.ApplyResult{ImageID: a.image}, a.err
}
