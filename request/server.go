package request

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/time/rate"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// StatusSource tells the server what the bottle runs: its image and
// capabilities. The supervisor implements it; the server adds the open
// requests itself.
type StatusSource interface {
	BottleStatus(ctx context.Context) (image string, caps []bottleapi.Capability, err error)
}

// ServerOptions configure a Server.
type ServerOptions struct {
	// Store holds the requests; Slug is the one bottle this server
	// answers. It may create and read its own requests and nothing else.
	Store *Store
	Slug  string
	// Status fills in GET /status; nil answers an empty image and no
	// capabilities.
	Status StatusSource
	// Log records what the bottle asked; nil discards.
	Log *slog.Logger

	// Egress serves CONNECT and absolute-form requests: the egress proxy
	// of issue 15. Nil refuses them.
	Egress http.Handler
	// Anthropic serves /anthropic/...: the reverse proxy to the Anthropic
	// API of issue 15. Nil answers 404.
	Anthropic http.Handler

	// MaxConns bounds the bottle's open connections (default 32).
	MaxConns int
}

// Server answers one bottle's socket: HTTP/1.1, JSON, the endpoints of
// package bottleapi. No endpoint decides anything.
type Server struct {
	o        ServerOptions
	mux      *http.ServeMux
	srv      *http.Server
	creates  *rate.Limiter
	suggests *rate.Limiter
}

// NewServer returns a server for the bottle opts.Slug.
func NewServer(o ServerOptions) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("request server: no store")
	}
	if _, err := o.Store.st.Bottle(o.Slug); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 32
	}
	s := &Server{
		o: o, mux: http.NewServeMux(),
		// A bottle asks rarely; these bound a runaway loop, not an agent.
		creates:  rate.NewLimiter(rate.Every(2*time.Second), 20),
		suggests: rate.NewLimiter(rate.Every(time.Second), 30),
	}
	s.mux.HandleFunc("POST "+bottleapi.PathRequests, s.create)
	s.mux.HandleFunc("GET "+bottleapi.PathRequest+"{id}", s.get)
	s.mux.HandleFunc("POST "+bottleapi.PathSuggestions, s.suggest)
	s.mux.HandleFunc("GET "+bottleapi.PathStatus, s.status)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s; the endpoints are under /claude-bottle/v1/", r.Method, clipPath(r.URL.Path)))
	})
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.Log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// ServeHTTP routes one request from the bottle.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// ---- issue 15 mounts here: the egress proxy (CONNECT host:port and
	// absolute-form requests) and the /anthropic/ reverse proxy. ----
	if r.Method == http.MethodConnect || r.URL.IsAbs() {
		if s.o.Egress != nil {
			s.o.Egress.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusForbidden, "this bottle has no network access: ask the operator for egress")
		return
	}
	if strings.HasPrefix(r.URL.Path, bottleapi.PathAnthropic) {
		if s.o.Anthropic != nil {
			s.o.Anthropic.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusNotFound, "no Anthropic API proxy on this socket")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Serve answers connections on l until Shutdown; it returns
// http.ErrServerClosed then.
func (s *Server) Serve(l net.Listener) error {
	return s.srv.Serve(netutil.LimitListener(l, s.o.MaxConns))
}

// Shutdown stops accepting, then waits for open calls (long polls
// included) until ctx ends, and closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return err
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	var c bottleapi.CreateRequest
	if !decode(w, r, &c) {
		return
	}
	if err := c.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.creates.Allow() {
		writeError(w, http.StatusTooManyRequests, "too many requests in a short time; wait a minute")
		return
	}
	rq, err := s.o.Store.Create(r.Context(), s.o.Slug, c)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.o.Log.Info("request created", "bottle", s.o.Slug, "id", rq.ID, "kind", rq.Kind, "name", rq.Name)
	writeJSON(w, http.StatusCreated, rq.View())
}

func (s *Server) suggest(w http.ResponseWriter, r *http.Request) {
	var sug bottleapi.Suggestion
	if !decode(w, r, &sug) {
		return
	}
	if err := sug.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.suggests.Allow() {
		writeError(w, http.StatusTooManyRequests, "too many suggestions in a short time")
		return
	}
	rq, created, err := s.o.Store.Suggest(r.Context(), s.o.Slug, sug, OriginHook)
	if err != nil {
		s.fail(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		s.o.Log.Info("suggestion recorded", "bottle", s.o.Slug, "id", rq.ID, "name", rq.Name)
	}
	writeJSON(w, code, rq.View())
}

// get answers a request of this bottle, long-polling when asked to wait:
// until the request has its final answer, the wait ends, or the caller
// goes. A pending request whose deadline passes meanwhile is expired.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := bottleapi.ValidateID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	wait, err := parseWait(r.URL.Query().Get("wait"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	end := time.Now().Add(wait)
	for {
		rq, err := s.o.Store.Get(s.o.Slug, id)
		if err != nil {
			s.fail(w, err)
			return
		}
		if rq.State == bottleapi.StateApproved || rq.State == bottleapi.StateApplying {
			// An approval whose process died would keep this caller
			// waiting for a build nobody runs.
			if rq, err = s.o.Store.recoverOne(r.Context(), s.o.Slug, id); err != nil {
				s.fail(w, err)
				return
			}
		}
		if rq.overdue(s.o.Store.now()) {
			if rq, err = s.o.Store.Expire(r.Context(), s.o.Slug, id); err != nil {
				s.fail(w, err)
				return
			}
		}
		if rq.State.Final() || rq.State == bottleapi.StateSuggested || !time.Now().Before(end) {
			writeJSON(w, http.StatusOK, rq.View())
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.o.Store.pollEvery):
		}
	}
}

// parseWait reads ?wait=SECONDS: absent is 0, more than MaxPoll is
// MaxPoll.
func parseWait(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: wait=%q: give whole seconds, 0 or more", bottleapi.ErrInvalid, clipPath(v))
	}
	d := time.Duration(min(n, int(bottleapi.MaxPoll/time.Second))) * time.Second
	return d, nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := bottleapi.Status{Slug: s.o.Slug, Capabilities: []bottleapi.Capability{}, Pending: []bottleapi.Request{}}
	if s.o.Status != nil {
		image, caps, err := s.o.Status.BottleStatus(r.Context())
		if err != nil {
			s.fail(w, err)
			return
		}
		st.Image = image
		if caps != nil {
			st.Capabilities = caps
		}
	}
	open, err := s.o.Store.open(s.o.Slug)
	if err != nil {
		s.fail(w, err)
		return
	}
	for _, rq := range open {
		st.Pending = append(st.Pending, rq.View())
	}
	writeJSON(w, http.StatusOK, st)
}

// fail answers a store error: 404 for another bottle's (or no) request,
// 400 for bad input, 429 when the bottle has too many open, else 500 with
// the cause logged (the bottle learns no host paths).
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such request in this bottle")
	case errors.Is(err, bottleapi.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrTooMany):
		writeError(w, http.StatusTooManyRequests, err.Error())
	default:
		s.o.Log.Error("bottle socket", "bottle", s.o.Slug, "err", err)
		writeError(w, http.StatusInternalServerError, "the host could not do it; the operator can see why in claude-bottle's log")
	}
}

// decode reads one JSON object of at most MaxBodyBytes with no unknown
// fields; anything else is answered 400 and false returned.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer rc.SetReadDeadline(time.Time{})
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, bottleapi.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the body is larger than %d bytes", bottleapi.MaxBodyBytes))
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "could not read the body")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "the body is not the JSON object expected: "+oneLine(err.Error()))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "the body holds more than one JSON value")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, bottleapi.Error{Error: oneLine(msg)})
}

// oneLine flattens a message onto one printable line.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "?")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
}

func clipPath(p string) string {
	if len(p) > 80 {
		p = p[:80] + "..."
	}
	return strings.ToValidUTF8(p, "?")
}
