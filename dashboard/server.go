package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// Options are what a dashboard serves and acts with; the CLI fills them
// as its other commands fill theirs.
type Options struct {
	// Store is the state root.
	Store *state.Store
	// Engine is the Docker engine the bottles run on (launch.Connect).
	Engine *client.Client
	// Repo and RepoFrom name the repo the bottles' plans are resolved
	// with; "" is the built-in default bottle context.
	Repo, RepoFrom string
	// Driver and DriverReason are the driver builds use and why (shown on
	// a bottle's page).
	Driver, DriverReason string
	// OpenBuilder opens that driver, the first time a build needs it.
	OpenBuilder func(ctx context.Context) (driver.Builder, error)
	// User is the operator, for decisions and the audit log.
	User string
	// Token is the start's token; "" draws a fresh one (NewToken).
	Token string
	// Poll is how often the state folder is looked at for changes; 0
	// means 500 ms. Engine changes come as the engine's events.
	Poll time.Duration
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
}

// Server is a dashboard: its handlers, its live state and its jobs.
type Server struct {
	o        Options
	requests *request.Store
	hub      *hub
	jobs     *jobs
	// ctx is the server's life: jobs run on it, and end with it.
	ctx    context.Context
	cancel context.CancelFunc

	builderMu sync.Mutex
	builder   driver.Builder
	// running counts the jobs still running, for Close.
	running sync.WaitGroup

	mu      sync.Mutex
	current []byte // the last "overview" event's data
	kick    chan struct{}
}

// New makes a dashboard. Nothing runs until Serve.
func New(o Options) (*Server, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("dashboard: Options need a Store")
	case o.Engine == nil:
		return nil, errors.New("dashboard: Options need an Engine")
	}
	if o.Token == "" {
		t, err := NewToken()
		if err != nil {
			return nil, err
		}
		o.Token = t
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{o: o, requests: request.NewStore(o.Store), hub: newHub(), jobs: newJobs(),
		ctx: ctx, cancel: cancel, kick: make(chan struct{}, 1)}, nil
}

// Token returns the start's token.
func (s *Server) Token() string { return s.o.Token }

// TokenURL returns the address to open: the listener's with the token.
func (s *Server) TokenURL(l *Listener) string {
	u := *l.URL
	u.RawQuery = url.Values{TokenParam: {s.o.Token}}.Encode()
	return u.String()
}

// Handler returns the dashboard's handler for listener l, every route
// behind the guard.
func (s *Server) Handler(l *Listener) http.Handler {
	return newGuard(s.o.Token, l, s.routes(csrfFor(s.o.Token)))
}

// Serve serves the dashboard on l until ctx ends, watching state and
// engine for changes; then it stops listening, ends the event streams and
// cancels the jobs still running (their requests go back to pending, as
// after a Ctrl-C of the CLI).
func (s *Server) Serve(ctx context.Context, l *Listener) error {
	srv := &http.Server{Handler: s.Handler(l), ReadHeaderTimeout: 10 * time.Second}
	go s.watch(s.ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.hub.close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	s.Close()
	return err
}

// jobGrace bounds how long Close waits for canceled jobs to record how
// they ended (an interrupted approval puts its request back to pending).
const jobGrace = 30 * time.Second

// Close ends the server's jobs and watchers, waits a bounded time for the
// jobs to record their outcome, and closes the driver it opened.
func (s *Server) Close() {
	s.cancel()
	s.hub.close()
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(jobGrace):
		s.o.Log.Warn("jobs still running after the grace; their requests are recovered by the next decision")
	}
	s.builderMu.Lock()
	defer s.builderMu.Unlock()
	if c, ok := s.builder.(driver.Closer); ok {
		c.Close()
	}
	s.builder = nil
}

// openBuilder opens the driver once.
func (s *Server) openBuilder(ctx context.Context) (driver.Builder, error) {
	s.builderMu.Lock()
	defer s.builderMu.Unlock()
	if s.builder != nil {
		return s.builder, nil
	}
	if s.o.OpenBuilder == nil {
		return nil, errors.New("this dashboard was started without a build driver")
	}
	b, err := s.o.OpenBuilder(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening the build driver: %w", err)
	}
	s.builder = b
	return b, nil
}

// overviewOptions are where the rows are read.
func (s *Server) overviewOptions() overview.Options {
	return overview.Options{Store: s.o.Store, Engine: overview.NewEngine(s.o.Engine), Repo: s.o.Repo, RepoFrom: s.o.RepoFrom, Building: s.jobs.isBusy}
}

// plan resolves a bottle's plan as the CLI does.
func (s *Server) plan(slug string) (*bottle.Plan, error) {
	return bottle.Resolve(s.o.Store, bottle.Options{Slug: slug, Repo: s.o.Repo, RepoFrom: s.o.RepoFrom, Driver: s.o.Driver, DriverReason: s.o.DriverReason})
}
