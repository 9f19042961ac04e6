package egress

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

const testSlug = "egress-test"

// proxyEnv is a bottle socket server with the egress proxy mounted, as
// launch serves it, on a loopback port the tests use as their proxy.
type proxyEnv struct {
	st     *state.Store
	store  *request.Store
	proxy  *Proxy
	addr   string
	client *http.Client
}

func newProxyEnv(t testing.TB, static []allow.Rule, self http.Handler) *proxyEnv {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	e := &proxyEnv{st: st, store: request.NewStore(st)}
	e.proxy = &Proxy{
		Policy:    &Policy{Static: static, Dynamic: CapabilityRules(st, testSlug)},
		Slug:      testSlug,
		Suggest:   StoreSuggester{Store: e.store},
		Self:      self,
		SelfAddrs: []string{"127.0.0.1:3128"},
	}
	srv, err := request.NewServer(request.ServerOptions{Store: e.store, Slug: testSlug, Egress: e.proxy})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	e.addr = ln.Addr().String()
	proxyURL := &url.URL{Scheme: "http", Host: e.addr}
	e.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(proxyURL),
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the test server's own certificate
	}}
	t.Cleanup(e.client.CloseIdleConnections)
	return e
}

func hello(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello from %s %s", name, r.URL.Path) }
}

func ruleFor(t testing.TB, rawURL string) allow.Rule {
	t.Helper()
	u, _ := url.Parse(rawURL)
	r, err := allow.ParseRule(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *proxyEnv) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := e.client.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestProxyAllowsListed(t *testing.T) {
	plain := httptest.NewServer(hello("plain"))
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(hello("tls"))
	defer tlsSrv.Close()
	e := newProxyEnv(t, []allow.Rule{ruleFor(t, plain.URL), ruleFor(t, tlsSrv.URL)}, nil)
	for _, c := range []struct{ url, want string }{
		{plain.URL + "/a", "hello from plain /a"}, // absolute-form
		{tlsSrv.URL + "/b", "hello from tls /b"},  // CONNECT
	} {
		code, body := e.get(t, c.url)
		if code != http.StatusOK || body != c.want {
			t.Errorf("GET %s: %d %q, want 200 %q", c.url, code, body, c.want)
		}
	}
}

func TestProxyRefusesAndSuggestsOnce(t *testing.T) {
	listed := httptest.NewServer(hello("listed"))
	defer listed.Close()
	unlisted := httptest.NewServer(hello("unlisted"))
	defer unlisted.Close()
	e := newProxyEnv(t, []allow.Rule{ruleFor(t, listed.URL)}, nil)
	target := strings.TrimPrefix(unlisted.URL, "http://")
	for range 3 {
		code, body := e.get(t, unlisted.URL+"/secret")
		if code != http.StatusForbidden {
			t.Fatalf("unlisted server answered %d %q, want 403", code, body)
		}
		for _, want := range []string{target, "request_egress", "claude-bottle request egress " + target + " --reason"} {
			if !strings.Contains(body, want) {
				t.Errorf("refusal %q does not say %q", body, want)
			}
		}
	}
	// CONNECT is refused the same way; the client sees the 403.
	if _, err := e.client.Get("https://" + target + "/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT to an unlisted server: %v, want a 403", err)
	}
	rs, err := e.store.List(testSlug)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("%d requests recorded, want one suggestion: %+v", len(rs), rs)
	}
	r := rs[0]
	if r.State != bottleapi.StateSuggested || r.Kind != bottleapi.KindEgress || r.Origin != request.OriginProxy || len(r.Hosts) != 1 || r.Hosts[0] != target {
		t.Errorf("suggestion %+v, want a suggested egress request for %s from the proxy", r, target)
	}
}

func TestProxyApprovedCapabilityIsLive(t *testing.T) {
	srv := httptest.NewServer(hello("later"))
	defer srv.Close()
	e := newProxyEnv(t, nil, nil)
	if code, _ := e.get(t, srv.URL); code != http.StatusForbidden {
		t.Fatalf("before approval: %d, want 403", code)
	}
	b, err := e.st.Bottle(testSlug)
	if err != nil {
		t.Fatal(err)
	}
	list := fmt.Sprintf(`{"version":1,"capabilities":[{"name":"later","kind":%q,"instructions":%q}]}`, capability.KindEgress, strings.TrimPrefix(srv.URL, "http://"))
	if err := b.WriteFileAt(capability.ListFile, []byte(list), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := e.get(t, srv.URL+"/x"); code != http.StatusOK || body != "hello from later /x" {
		t.Fatalf("after approval: %d %q, want 200", code, body)
	}
	// Removed again: refused on the next request, on the same connection.
	if err := b.WriteFileAt(capability.ListFile, []byte(`{"version":1,"capabilities":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.get(t, srv.URL+"/y"); code != http.StatusForbidden {
		t.Fatalf("after removal: %d, want 403", code)
	}
}

func TestProxyNeverReachesLinkLocalOrUnlistedLoopback(t *testing.T) {
	srv := httptest.NewServer(hello("loop"))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	// "localhost" listed without a port may not reach loopback.
	e := newProxyEnv(t, []allow.Rule{{Host: "localhost"}, {Host: "169.254.169.254", Port: 80}}, nil)
	for _, u := range []string{"http://localhost:" + port + "/", "http://localhost/", "http://169.254.169.254/latest/meta-data/"} {
		if code, body := e.get(t, u); code != http.StatusForbidden {
			t.Errorf("GET %s: %d %q, want 403", u, code, body)
		}
	}
}

func TestProxySelfGoesToHandler(t *testing.T) {
	self := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "self %s", r.URL.Path) })
	e := newProxyEnv(t, nil, self)
	if code, body := e.get(t, "http://127.0.0.1:3128/anthropic/v1/messages"); code != http.StatusOK || body != "self /anthropic/v1/messages" {
		t.Errorf("absolute-form to the bottle's own proxy: %d %q", code, body)
	}
}

// TestProxyHalfCloseClient: a client that ends its writing after an
// HTTP/1.0 request (nc, many scripts) still gets its answer, from a
// listed server and from the API through the bottle's own address.
func TestProxyHalfCloseClient(t *testing.T) {
	srv := httptest.NewServer(hello("listed"))
	defer srv.Close()
	api, err := NewAnthropic(AnthropicOptions{Upstream: srv.URL, Credentials: Credentials{APIKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	e := newProxyEnv(t, []allow.Rule{ruleFor(t, srv.URL)}, api)
	for _, c := range []struct{ target, want string }{
		{srv.URL + "/a", "hello from listed /a"},
		{"http://127.0.0.1:3128/anthropic/v1/models", "hello from listed /v1/models"},
	} {
		conn, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", c.target)
		conn.(*net.TCPConn).CloseWrite()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.Contains(string(got), " 200 OK") || !strings.HasSuffix(string(got), c.want) {
			t.Errorf("GET %s after a half-close: %q, want 200 and %q", c.target, got, c.want)
		}
	}
}

// TestProxySendsTheCheckedHost: the Host header upstream is the checked
// URL's, whatever Host the bottle sent.
func TestProxySendsTheCheckedHost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "host="+r.Host) }))
	defer srv.Close()
	e := newProxyEnv(t, []allow.Rule{ruleFor(t, srv.URL)}, nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s/ HTTP/1.0\r\nHost: evil.example\r\n\r\n", srv.URL)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(conn)
	if want := "host=" + strings.TrimPrefix(srv.URL, "http://"); !strings.HasSuffix(string(got), want) {
		t.Errorf("upstream answered %q, want it to have seen %q", got, want)
	}
}
