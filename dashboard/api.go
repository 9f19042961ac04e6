package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// routes are the dashboard's endpoints. The handlers decode, call and
// encode; what they call is the library's.
func (s *Server) routes(csrf string) http.Handler {
	mux := http.NewServeMux()
	page := s.page(csrf)
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /bottles/{slug}", page)
	mux.Handle("GET /assets/", assets())
	mux.HandleFunc("GET /api/bottles", s.getBottles)
	mux.HandleFunc("GET /api/bottles/{slug}", s.getBottle)
	mux.HandleFunc("GET /api/requests", s.getRequests)
	mux.HandleFunc("GET /api/jobs", s.getJobs)
	mux.HandleFunc("GET /api/jobs/{id}", s.getJob)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("POST /api/requests/{id}/approve", s.postApprove)
	mux.HandleFunc("POST /api/requests/{id}/deny", s.postDeny)
	mux.HandleFunc("POST /api/bottles/{slug}/{action}", s.postBottle)
	return mux
}

// getBottles answers the rows, as `claude-bottle ps --format json`.
func (s *Server) getBottles(w http.ResponseWriter, r *http.Request) {
	rows, err := overview.List(r.Context(), s.overviewOptions())
	reply(w, rows, err)
}

// getBottle answers a bottle's detail.
func (s *Server) getBottle(w http.ResponseWriter, r *http.Request) {
	d, err := overview.Bottle(r.Context(), overview.DetailOptions{Options: s.overviewOptions(), Driver: s.o.Driver, DriverReason: s.o.DriverReason}, r.PathValue("slug"))
	reply(w, d, err)
}

// getRequests answers the requests waiting for the operator.
func (s *Server) getRequests(w http.ResponseWriter, r *http.Request) {
	rs, err := s.openRequests()
	reply(w, rs, err)
}

func (s *Server) getJobs(w http.ResponseWriter, r *http.Request) { reply(w, s.jobs.list(), nil) }

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := s.jobs.get(r.PathValue("id"))
	if !ok {
		reply(w, nil, fmt.Errorf("%w: no job %q (the dashboard keeps its last %d)", errNotFound, r.PathValue("id"), keptJobs))
		return
	}
	reply(w, j.snapshot(), nil)
}

func (s *Server) postApprove(w http.ResponseWriter, r *http.Request) {
	var in ApproveInput
	if err := decode(r, &in); err != nil {
		reply(w, nil, err)
		return
	}
	j, err := s.approve(r.PathValue("id"), in)
	replyStatus(w, http.StatusAccepted, j, err)
}

func (s *Server) postDeny(w http.ResponseWriter, r *http.Request) {
	var in DenyInput
	if err := decode(r, &in); err != nil {
		reply(w, nil, err)
		return
	}
	req, err := s.deny(r.PathValue("id"), in)
	reply(w, req, err)
}

// postBottle starts an action on a bottle: rebuild, rebase, rollback or
// stop.
func (s *Server) postBottle(w http.ResponseWriter, r *http.Request) {
	actions := map[string]func(string) (Job, error){"rebuild": s.rebuild, "rebase": s.rebase, "rollback": s.rollback, "stop": s.stop}
	act, ok := actions[r.PathValue("action")]
	if !ok {
		reply(w, nil, fmt.Errorf("%w: no action %q; want rebuild, rebase, rollback or stop", errNotFound, r.PathValue("action")))
		return
	}
	if err := decode(r, &struct{}{}); err != nil {
		reply(w, nil, err)
		return
	}
	slug := r.PathValue("slug")
	if err := state.ValidateSlug(slug); err != nil {
		reply(w, nil, err)
		return
	}
	j, err := act(slug)
	replyStatus(w, http.StatusAccepted, j, err)
}

// events streams server-sent events: "overview" (the rows and the open
// requests) at once and whenever it changes, "changed" when state or
// images changed (a bottle's page reads its detail again), and "job" as
// actions progress. It ends when the page goes or the server stops.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	f, ok := w.(http.Flusher)
	if !ok {
		reply(w, nil, errors.New("streaming is not supported here"))
		return
	}
	msgs, unsubscribe := s.hub.subscribe()
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send(w, message{event: "overview", data: s.currentOverview(r.Context())})
	for _, j := range s.jobs.list() {
		if j.State == JobRunning {
			data, _ := json.Marshal(j)
			send(w, message{event: "job", data: data})
		}
	}
	f.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			send(w, m)
		case <-beat.C:
			io.WriteString(w, ": keep-alive\n\n")
		}
		f.Flush()
	}
}

func send(w io.Writer, m message) {
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.event, m.data)
}

// maxBody bounds a POST's JSON body.
const maxBody = 64 << 10

// errBadBody, errNotFound class refusals of the API's own.
var (
	errBadBody  = errors.New("bad request body")
	errNotFound = errors.New("not found")
)

// decode reads a POST's JSON body into v; an empty body is an empty
// object. A body that is not JSON is refused: a form cannot send JSON
// without the page's script.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return fmt.Errorf("%w: Content-Type %q: want application/json", errBadBody, ct)
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("%w: more than %d bytes", errBadBody, maxBody)
	}
	if len(data) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadBody, err)
	}
	return nil
}

// reply answers v as JSON, or the error as {"error": "..."} with the
// status its class says.
func reply(w http.ResponseWriter, v any, err error) { replyStatus(w, http.StatusOK, v, err) }

func replyStatus(w http.ResponseWriter, status int, v any, err error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(statusOf(err))
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// statusOf maps the library's error classes to HTTP statuses, as the CLI
// maps them to exit codes.
func statusOf(err error) int {
	var nf *overview.NotFoundError
	switch {
	case errors.Is(err, request.ErrNotFound), errors.As(err, &nf), errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, request.ErrDecided), errors.Is(err, errBusy), errors.Is(err, capability.ErrNoCapabilities),
		errors.Is(err, capability.ErrNothingToRollBack), errors.Is(err, launch.ErrNotRunning), errors.Is(err, capability.ErrExists):
		return http.StatusConflict
	case errors.Is(err, bottleapi.ErrInvalid), errors.Is(err, request.ErrEditCanceled), errors.Is(err, request.ErrNoInstructions),
		errors.Is(err, capability.ErrInvalid), errors.Is(err, state.ErrInvalidSlug), errors.Is(err, errBadBody), errors.Is(err, errNoReason):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
