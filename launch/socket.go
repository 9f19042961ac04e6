package launch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// SocketHook adds to what a launch serves on the bottle socket: it is
// called with the server's options (store, slug, log already set) before
// the server starts. Another package plugs in through it, e.g. the egress
// proxy sets ServerOptions.Egress and ServerOptions.Anthropic, and the
// supervisor a StatusSource.
type SocketHook func(*request.ServerOptions)

// socketShutdown bounds how long the end of a run waits for the bottle's
// open calls (long polls included) before it closes them.
const socketShutdown = 2 * time.Second

// socket is the bottle socket a launch serves while its bottle runs.
type socket struct {
	dir  request.RunDir
	srv  *request.Server
	done chan error
}

// serveSocket prepares bottle b's run folder (request.PrepareRunDir under
// b's state root), writes Claude Code's managed configuration into it and
// serves request.Server on its socket until close. A live claude-bottle
// already serving the bottle is request.ErrInUse.
func serveSocket(b *state.Bottle, log *slog.Logger, hook SocketHook) (*socket, error) {
	if b == nil {
		return nil, errors.New("launch: the run carries no bottle state to serve a socket for")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root := stateRootOf(b)
	st, err := state.Open(root)
	if err != nil {
		return nil, err
	}
	dir, err := request.PrepareRunDir(root, b.Slug())
	if err != nil {
		return nil, fmt.Errorf("preparing bottle %s's run folder: %w", b.Slug(), err)
	}
	files, err := inbottle.ManagedFiles(inbottle.ManagedOptions{})
	if err != nil {
		return nil, err
	}
	if err := dir.WriteManaged(files); err != nil {
		return nil, fmt.Errorf("writing bottle %s's managed Claude Code configuration: %w", b.Slug(), err)
	}
	o := request.ServerOptions{Store: request.NewStore(st), Slug: b.Slug(), Log: log}
	if hook != nil {
		hook(&o)
	}
	srv, err := request.NewServer(o)
	if err != nil {
		return nil, err
	}
	l, err := dir.Listen()
	if err != nil {
		return nil, err
	}
	s := &socket{dir: dir, srv: srv, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(l) }()
	return s, nil
}

// close stops the server, giving open calls socketShutdown to end, and
// removes the run folder.
func (s *socket) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), socketShutdown)
	defer cancel()
	s.srv.Shutdown(ctx)
	err := <-s.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if rerr := s.dir.Remove(); err == nil {
		err = rerr
	}
	return err
}
