package request

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// socketServer serves one bottle's socket for real: a run folder, a unix
// listener and the Server, with an HTTP client dialing that socket.
type socketServer struct {
	t      *testing.T
	store  *Store
	slug   string
	server *Server
	client *http.Client
	socket string
}

type fixedStatus struct{}

func (fixedStatus) BottleStatus(context.Context) (string, []bottleapi.Capability, error) {
	return "claude-bottle-rebuilt-demo:latest", []bottleapi.Capability{{Name: "git", Kind: "layer", Reason: "clone"}}, nil
}

func serveSocket(t *testing.T, s *Store, slug string, o ServerOptions) *socketServer {
	t.Helper()
	rd, err := PrepareRunDir(s.st.Root(), slug)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rd.Listen()
	if err != nil {
		t.Fatal(err)
	}
	o.Store, o.Slug = s, slug
	srv, err := NewServer(o)
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
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", rd.Socket)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &socketServer{t: t, store: s, slug: slug, server: srv, socket: rd.Socket, client: &http.Client{Transport: tr}}
}

// do sends one request and decodes a JSON answer into out (if not nil).
func (c *socketServer) do(method, path, body string, out any) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://bottle"+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode, string(data)
}

func (c *socketServer) create(body string) bottleapi.Request {
	c.t.Helper()
	var r bottleapi.Request
	if code, raw := c.do("POST", bottleapi.PathRequests, body, &r); code != http.StatusCreated {
		c.t.Fatalf("create: %d %s", code, raw)
	}
	return r
}

func TestServerCreatesAndAnswers(t *testing.T) {
	s := newTestStore(t)
	c := serveSocket(t, s, "demo", ServerOptions{Status: fixedStatus{}})
	r := c.create(`{"kind":"capability","name":"jq","packages":["jq"],"reason":"parse JSON","wait_seconds":600}`)
	if r.State != bottleapi.StatePending || r.Next == "" || r.Deadline.Sub(r.CreatedAt) != 10*time.Minute {
		t.Fatalf("created %+v", r)
	}
	if mustGet(t, s, "demo", r.ID).Reason != "parse JSON" {
		t.Error("not stored")
	}
	var got bottleapi.Request
	if code, raw := c.do("GET", bottleapi.PathRequest+r.ID, "", &got); code != 200 || got.ID != r.ID {
		t.Fatalf("get: %d %s", code, raw)
	}
	var st bottleapi.Status
	if code, raw := c.do("GET", bottleapi.PathStatus, "", &st); code != 200 || st.Slug != "demo" || st.Image != "claude-bottle-rebuilt-demo:latest" ||
		len(st.Capabilities) != 1 || len(st.Pending) != 1 || st.Pending[0].ID != r.ID {
		t.Fatalf("status: %d %s", code, raw)
	}
	// A suggestion: 201, then 200 with the same one.
	sug := `{"kind":"capability","name":"yq","tool":"Bash","command":"yq .a f","error":"Exit code 127\nyq: command not found"}`
	var s1, s2 bottleapi.Request
	if code, raw := c.do("POST", bottleapi.PathSuggestions, sug, &s1); code != 201 || s1.State != bottleapi.StateSuggested {
		t.Fatalf("suggest: %d %s", code, raw)
	}
	if code, _ := c.do("POST", bottleapi.PathSuggestions, sug, &s2); code != 200 || s2.ID != s1.ID {
		t.Fatalf("suggest again: %d %s", code, s2.ID)
	}
}

// TestServerRefusesHostileInput sends every refused body of the shared
// table, and malformed bodies, and checks each gets 400 with one line and
// that nothing was written.
func TestServerRefusesHostileInput(t *testing.T) {
	s := newTestStore(t)
	c := serveSocket(t, s, "demo", ServerOptions{})
	data, err := os.ReadFile("../bottleapi/testdata/requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Case  string          `json:"case"`
		Body  json.RawMessage `json:"body"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	type bad struct{ name, path, body, want string }
	var bads []bad
	for _, tc := range cases {
		if tc.Error != "" {
			bads = append(bads, bad{tc.Case, bottleapi.PathRequests, string(tc.Body), tc.Error})
		}
	}
	bads = append(bads,
		bad{"not JSON", bottleapi.PathRequests, "kind=capability", "not the JSON object"},
		bad{"empty body", bottleapi.PathRequests, "", "not the JSON object"},
		bad{"an array", bottleapi.PathRequests, `[1]`, "not the JSON object"},
		bad{"unknown field", bottleapi.PathRequests, `{"kind":"capability","name":"jq","packages":["jq"],"reason":"r","state":"approved"}`, `unknown field "state"`},
		bad{"two objects", bottleapi.PathRequests, `{"kind":"capability","name":"jq","packages":["jq"],"reason":"r"} {}`, "more than one JSON value"},
		bad{"too large", bottleapi.PathRequests, `{"kind":"capability","name":"jq","packages":["jq"],"reason":"` + strings.Repeat("a", bottleapi.MaxBodyBytes) + `"}`, "larger than"},
		bad{"wrong types", bottleapi.PathRequests, `{"kind":"capability","name":"jq","packages":"jq","reason":"r"}`, "not the JSON object"},
		bad{"hostile suggestion", bottleapi.PathSuggestions, `{"kind":"capability","name":"jq","tool":"Bash","command":"x","error":"\u001b]52;c;cHduZWQ=\u0007"}`, "U+001B"},
		bad{"suggestion with a bad name", bottleapi.PathSuggestions, `{"kind":"capability","name":"a/b","tool":"Bash","command":"x","error":"y"}`, "name"},
	)
	for _, b := range bads {
		t.Run(b.name, func(t *testing.T) {
			code, raw := c.do("POST", b.path, b.body, nil)
			var e bottleapi.Error
			if err := json.Unmarshal([]byte(raw), &e); err != nil || code != http.StatusBadRequest || !strings.Contains(e.Error, b.want) {
				t.Fatalf("got %d %s, want 400 containing %q", code, raw, b.want)
			}
			if strings.ContainsAny(e.Error, "\n\r\x1b") {
				t.Errorf("error is not one printable line: %q", e.Error)
			}
		})
	}
	if got := tree(t, filepath.Join(s.st.StateDir(), "demo", Folder)); got != "<absent>" {
		t.Errorf("refused input wrote:\n%s", got)
	}
	for _, q := range []string{"?wait=abc", "?wait=-1", "?wait=1e9"} {
		if code, raw := c.do("GET", bottleapi.PathRequest+"rq-0123456789"+q, "", nil); code != 400 {
			t.Errorf("GET %s: %d %s, want 400", q, code, raw)
		}
	}
	for _, id := range []string{"..%2f..%2fetc", "rq-ZZZZZZZZZZ", "rq-0123"} {
		if code, raw := c.do("GET", bottleapi.PathRequest+id, "", nil); code != 400 {
			t.Errorf("GET id %q: %d %s, want 400", id, code, raw)
		}
	}
}

func TestServerKeepsBottlesApart(t *testing.T) {
	s := newTestStore(t)
	alpha := serveSocket(t, s, "alpha", ServerOptions{})
	beta := serveSocket(t, s, "beta", ServerOptions{})
	r := alpha.create(`{"kind":"capability","name":"jq","packages":["jq"],"reason":"r"}`)
	code, raw := beta.do("GET", bottleapi.PathRequest+r.ID, "", nil)
	if code != http.StatusNotFound || strings.Contains(raw, "alpha") {
		t.Fatalf("beta reading alpha's request: %d %s, want a 404 naming nothing", code, raw)
	}
	if code, _ := beta.do("GET", bottleapi.PathRequest+r.ID+"?wait=1", "", nil); code != http.StatusNotFound {
		t.Fatalf("beta waiting on alpha's request: %d", code)
	}
	var st bottleapi.Status
	beta.do("GET", bottleapi.PathStatus, "", &st)
	if len(st.Pending) != 0 {
		t.Fatalf("beta's status lists %v", st.Pending)
	}
	if alpha.socket == beta.socket {
		t.Fatal("two bottles share a socket")
	}
}

func TestServerLongPolls(t *testing.T) {
	s := newTestStore(t)
	c := serveSocket(t, s, "demo", ServerOptions{})

	// Decided while waiting: answered at once with the reason.
	r := c.create(`{"kind":"capability","name":"jq","packages":["jq"],"reason":"r"}`)
	go func() {
		time.Sleep(200 * time.Millisecond)
		s.Deny(context.Background(), r.ID, "use python", "bob")
	}()
	start := time.Now()
	var got bottleapi.Request
	c.do("GET", bottleapi.PathRequest+r.ID+"?wait=30", "", &got)
	if got.State != bottleapi.StateDenied || got.DenyReason != "use python" || time.Since(start) > 5*time.Second {
		t.Fatalf("after %v: %+v", time.Since(start), got)
	}

	// Undecided, the poll ends with the wait: still pending.
	r2 := c.create(`{"kind":"capability","name":"yq","packages":["yq"],"reason":"r"}`)
	start = time.Now()
	c.do("GET", bottleapi.PathRequest+r2.ID+"?wait=1", "", &got)
	if got.State != bottleapi.StatePending || time.Since(start) < time.Second {
		t.Fatalf("after %v: %s", time.Since(start), got.State)
	}

	// The requester's deadline passes during the poll: expired.
	r3 := c.create(`{"kind":"capability","name":"zq","packages":["zq"],"reason":"r","wait_seconds":1}`)
	start = time.Now()
	c.do("GET", bottleapi.PathRequest+r3.ID+"?wait=20", "", &got)
	if got.State != bottleapi.StateExpired || time.Since(start) > 5*time.Second {
		t.Fatalf("after %v: %s", time.Since(start), got.State)
	}
	if mustGet(t, s, "demo", r3.ID).State != bottleapi.StateExpired {
		t.Error("the expiry was not stored")
	}
}

func TestServerMountPointsForIssue15(t *testing.T) {
	s := newTestStore(t)
	bare := serveSocket(t, s, "bare", ServerOptions{})
	var called []string
	mounted := serveSocket(t, s, "mounted", ServerOptions{
		Egress: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = append(called, "egress "+r.Method+" "+r.Host)
			w.WriteHeader(299)
		}),
		Anthropic: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = append(called, "anthropic "+r.URL.Path)
			w.WriteHeader(298)
		}),
	})
	raw := func(c *socketServer, line string) string {
		conn, err := net.Dial("unix", c.socket)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, line+"\r\nHost: x\r\nConnection: close\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		data, _ := io.ReadAll(conn)
		first, _, _ := bytes.Cut(data, []byte("\r\n"))
		return string(first)
	}
	for _, tc := range []struct {
		c          *socketServer
		line, want string
	}{
		{bare, "CONNECT example.com:443 HTTP/1.1", "HTTP/1.1 403 Forbidden"},
		{bare, "GET http://example.com/ HTTP/1.1", "HTTP/1.1 403 Forbidden"},
		{bare, "GET /anthropic/v1/messages HTTP/1.1", "HTTP/1.1 404 Not Found"},
		{bare, "GET /nowhere HTTP/1.1", "HTTP/1.1 404 Not Found"},
		{bare, "DELETE /claude-bottle/v1/requests HTTP/1.1", "HTTP/1.1 404 Not Found"},
		{mounted, "CONNECT example.com:443 HTTP/1.1", "HTTP/1.1 299 status code 299"},
		{mounted, "GET http://example.com/x HTTP/1.1", "HTTP/1.1 299 status code 299"},
		{mounted, "POST /anthropic/v1/messages HTTP/1.1", "HTTP/1.1 298 status code 298"},
	} {
		if got := raw(tc.c, tc.line); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.line, got, tc.want)
		}
	}
	if strings.Join(called, "|") != "egress CONNECT example.com:443|egress GET example.com|anthropic /anthropic/v1/messages" {
		t.Errorf("handlers called: %q", called)
	}
}

func TestServerRateLimitsARunawayBottle(t *testing.T) {
	s := newTestStore(t)
	c := serveSocket(t, s, "demo", ServerOptions{})
	limited := 0
	for range 30 {
		code, _ := c.do("POST", bottleapi.PathRequests, `{"kind":"capability","name":"jq","packages":["jq"],"reason":"r"}`, nil)
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("30 requests at once were all accepted")
	}
}
