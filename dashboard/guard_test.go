package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

// testServer is a dashboard on a real loopback listener, over an empty
// state root and an engine that is not there: the guard's refusals come
// before any handler reads either.
type testServer struct {
	t      *testing.T
	srv    *Server
	l      *Listener
	http   *httptest.Server
	base   string // http://127.0.0.1:PORT
	cookie *http.Cookie
	csrf   string
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	store, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := launch.Connect("unix://" + filepath.Join(t.TempDir(), "no-engine.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	srv, err := New(Options{Store: store, Engine: cli, Repo: t.TempDir(), RepoFrom: "test", User: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	l, err := Listen(ListenOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler(l))
	hs.Listener.Close()
	hs.Listener = l.Listener
	hs.Start()
	t.Cleanup(hs.Close)
	ts := &testServer{t: t, srv: srv, l: l, http: hs, base: strings.TrimSuffix(l.URL.String(), "/"), csrf: csrfFor(srv.Token())}
	_, port, _ := strings.Cut(l.URL.Host, ":")
	ts.cookie = &http.Cookie{Name: cookiePrefix + port, Value: srv.Token()}
	return ts
}

// call is one request of a table test.
type call struct {
	method, path string
	host         string // the Host header; "" is the dashboard's own
	origin       string
	cookie       *http.Cookie
	csrf         string
	accept       string
	contentType  string
	secFetchSite string
	body         string
}

func (ts *testServer) do(c call) *http.Response {
	ts.t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, ts.base+c.path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if c.host != "" {
		req.Host = c.host
	}
	for k, v := range map[string]string{"Origin": c.origin, CSRFHeader: c.csrf, "Accept": c.accept, "Content-Type": c.contentType, "Sec-Fetch-Site": c.secFetchSite} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { res.Body.Close() })
	return res
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestGuardRefusals: every refusal of the token, Host, Origin, method
// and CSRF checks, each with its status and nothing of the dashboard in
// the answer; and what passes them.
func TestGuardRefusals(t *testing.T) {
	ts := newTestServer(t)
	good := ts.cookie
	wrong := &http.Cookie{Name: good.Name, Value: "not-the-token"}
	otherPort := &http.Cookie{Name: cookiePrefix + "1", Value: good.Value}
	_, port, _ := strings.Cut(ts.l.URL.Host, ":")
	deny := "/api/requests/rq-0123456789/deny"
	cases := []struct {
		name   string
		call   call
		status int
		says   string // in the body
	}{
		// The token.
		{"no token", call{method: "GET", path: "/api/bottles"}, 401, "missing or wrong token"},
		{"no token, a browser", call{method: "GET", path: "/", accept: "text/html,*/*"}, 401, "dashboard.url"},
		{"no token, an asset", call{method: "GET", path: "/assets/app.js"}, 401, "missing or wrong token"},
		{"wrong cookie", call{method: "GET", path: "/api/bottles", cookie: wrong}, 401, "missing or wrong token"},
		{"the cookie of another port", call{method: "GET", path: "/api/bottles", cookie: otherPort}, 401, "missing or wrong token"},
		{"wrong token in the URL", call{method: "GET", path: "/?token=nope", accept: "text/html"}, 401, "dashboard.url"},
		{"the token twice in the URL", call{method: "GET", path: "/?token=" + good.Value + "&token=" + good.Value}, 401, "missing or wrong token"},
		{"the token in the URL of a POST", call{method: "POST", path: deny + "?token=" + good.Value, csrf: ts.csrf}, 401, "missing or wrong token"},
		{"no token on the event stream", call{method: "GET", path: "/api/events"}, 401, "missing or wrong token"},
		// Host: DNS rebinding.
		{"a foreign Host", call{method: "GET", path: "/api/bottles", host: "evil.example:" + port, cookie: good}, 403, "DNS rebinding"},
		{"a foreign Host without token", call{method: "GET", path: "/", host: "evil.example", accept: "text/html"}, 403, "DNS rebinding"},
		{"the right name, another port", call{method: "GET", path: "/api/bottles", host: "127.0.0.1:1", cookie: good}, 403, "DNS rebinding"},
		// Origin and Sec-Fetch-Site: cross-site requests.
		{"a foreign Origin on a GET", call{method: "GET", path: "/api/bottles", origin: "http://evil.example", cookie: good}, 403, "cross-site"},
		{"a foreign Origin on a POST", call{method: "POST", path: deny, origin: "http://evil.example", cookie: good, csrf: ts.csrf, body: `{"reason":"x"}`}, 403, "cross-site"},
		{"the null Origin", call{method: "POST", path: deny, origin: "null", cookie: good, csrf: ts.csrf, body: `{"reason":"x"}`}, 403, "cross-site"},
		{"the right host over https", call{method: "POST", path: deny, origin: "https://127.0.0.1:" + port, cookie: good, csrf: ts.csrf, body: `{"reason":"x"}`}, 403, "cross-site"},
		{"a cross-site fetch", call{method: "POST", path: deny, cookie: good, csrf: ts.csrf, secFetchSite: "cross-site", body: `{"reason":"x"}`}, 403, "Sec-Fetch-Site"},
		{"a same-site fetch (another port)", call{method: "POST", path: deny, cookie: good, csrf: ts.csrf, secFetchSite: "same-site", body: `{"reason":"x"}`}, 403, "Sec-Fetch-Site"},
		// CSRF and methods.
		{"a POST without CSRF token", call{method: "POST", path: deny, cookie: good, body: `{"reason":"x"}`}, 403, "CSRF"},
		{"a POST with a wrong CSRF token", call{method: "POST", path: deny, cookie: good, csrf: "forged", body: `{"reason":"x"}`}, 403, "CSRF"},
		{"a POST with the token as CSRF token", call{method: "POST", path: deny, cookie: good, csrf: good.Value, body: `{"reason":"x"}`}, 403, "CSRF"},
		{"a form POST", call{method: "POST", path: deny, cookie: good, csrf: ts.csrf, contentType: "application/x-www-form-urlencoded", body: "reason=x"}, 400, "application/json"},
		{"a GET of a change", call{method: "GET", path: "/api/requests/rq-0123456789/approve", cookie: good}, 405, ""},
		{"a GET of a bottle action", call{method: "GET", path: "/api/bottles/demo/stop", cookie: good}, 405, ""},
		{"PUT", call{method: "PUT", path: "/api/bottles", cookie: good, csrf: ts.csrf}, 405, "not allowed"},
		{"DELETE", call{method: "DELETE", path: "/api/bottles/demo", cookie: good, csrf: ts.csrf}, 405, "not allowed"},
		// What passes.
		{"the cookie", call{method: "GET", path: "/assets/app.css", cookie: good}, 200, "claude-bottle dashboard"},
		{"the cookie under localhost", call{method: "GET", path: "/assets/app.css", host: "localhost:" + port, cookie: good}, 200, "claude-bottle dashboard"},
		{"the right Origin", call{method: "GET", path: "/assets/app.css", origin: "http://127.0.0.1:" + port, cookie: good}, 200, "claude-bottle dashboard"},
		{"a change with the CSRF token", call{method: "POST", path: deny, cookie: good, csrf: ts.csrf, contentType: "application/json", body: `{"reason":"x"}`}, 404, "rq-0123456789"},
		{"a same-origin fetch", call{method: "POST", path: deny, origin: "http://127.0.0.1:" + port, secFetchSite: "same-origin", cookie: good, csrf: ts.csrf, body: `{"reason":"x"}`}, 404, "rq-0123456789"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(tc.call)
			body := readBody(t, res)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", res.StatusCode, tc.status, body)
			}
			if tc.says != "" && !strings.Contains(body, tc.says) {
				t.Errorf("body %q does not say %q", body, tc.says)
			}
			if res.StatusCode == 401 || res.StatusCode == 403 {
				if len(res.Header.Values("Set-Cookie")) > 0 {
					t.Errorf("a refusal set a cookie: %v", res.Header.Values("Set-Cookie"))
				}
				for _, leak := range []string{ts.srv.Token(), ts.csrf, "bottles\":", "csrf-token"} {
					if strings.Contains(body, leak) {
						t.Errorf("a refusal says %q: %q", leak, body)
					}
				}
			}
			if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers missing: %v", res.Header)
			}
		})
	}
}

// TestFirstVisit: the token in the URL becomes an HttpOnly, SameSite=Strict
// cookie and leaves the address bar by a redirect that keeps the rest of
// the address; the cookie then opens the page, which carries the CSRF
// token and not the token.
func TestFirstVisit(t *testing.T) {
	ts := newTestServer(t)
	res := ts.do(call{method: "GET", path: "/bottles/demo?token=" + url.QueryEscape(ts.srv.Token()) + "&x=1", accept: "text/html"})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("first visit: status %d", res.StatusCode)
	}
	if loc := res.Header.Get("Location"); loc != "/bottles/demo?x=1" {
		t.Errorf("redirect to %q, want the address without its token", loc)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies = %v", cookies)
	}
	c := cookies[0]
	if c.Name != ts.cookie.Name || c.Value != ts.srv.Token() || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie = %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure over http", c)
	}
	page := ts.do(call{method: "GET", path: "/bottles/demo?x=1", cookie: c, accept: "text/html"})
	body := readBody(t, page)
	if page.StatusCode != 200 || !strings.Contains(body, `<meta name="csrf-token" content="`+ts.csrf+`">`) || strings.Contains(body, ts.srv.Token()) {
		t.Errorf("page: status %d, body:\n%s", page.StatusCode, body)
	}
	if ts.csrf == ts.srv.Token() || ts.csrf == "" {
		t.Error("the CSRF token is the token")
	}
}

// TestTokensDifferEachStart: two starts never share a token.
func TestTokensDifferEachStart(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) < 40 || seen[tok] {
			t.Fatalf("token %q (len %d) seen before or too short", tok, len(tok))
		}
		seen[tok] = true
	}
}
