package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Names the guard reads and writes.
const (
	// TokenParam is the query parameter that carries the token on the
	// first visit.
	TokenParam = "token"
	// CSRFHeader carries the page's CSRF token on every POST.
	CSRFHeader = "X-CSRF-Token"
	// cookiePrefix starts the session cookie's name; the port follows, as
	// cookies do not tell ports apart and two dashboards may run.
	cookiePrefix = "claude_bottle_dashboard_"
)

// NewToken returns a fresh random token: 32 bytes, base64url.
func NewToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// guard is the checks every request passes before a handler sees it, in
// this order: Host (DNS rebinding), Origin and Sec-Fetch-Site
// (cross-site requests), the token (query on the first visit, then the
// cookie), and for a POST the CSRF token. Only GET, HEAD and POST are
// served.
type guard struct {
	token   string
	csrf    string
	cookie  string
	secure  bool
	hosts   map[string]bool
	origins map[string]bool
	next    http.Handler
}

func newGuard(token string, l *Listener, next http.Handler) *guard {
	g := &guard{token: token, csrf: csrfFor(token), secure: l.TLS, next: next,
		hosts: map[string]bool{}, origins: map[string]bool{}}
	_, port, _ := net.SplitHostPort(l.URL.Host)
	g.cookie = cookiePrefix + port
	for _, h := range l.Hosts {
		g.hosts[h] = true
	}
	for _, o := range l.Origins {
		g.origins[o] = true
	}
	return g
}

// csrfFor derives the page's CSRF token from the session token: it is
// not the token (a page may show it), and it dies with the start.
func csrfFor(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("claude-bottle dashboard csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// ServeHTTP checks r and hands it on, or refuses it.
func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if !g.hosts[strings.ToLower(r.Host)] {
		refuse(w, http.StatusForbidden, "this dashboard is not served under the name "+quote(r.Host)+" (a DNS rebinding guard); open the address `claude-bottle dashboard` printed")
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !g.origins[strings.ToLower(o)] {
		refuse(w, http.StatusForbidden, "cross-site request from "+quote(o)+" refused")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		refuse(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	if !g.authenticated(w, r) {
		return
	}
	if r.Method == http.MethodPost {
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			refuse(w, http.StatusForbidden, "a change must come from the dashboard's own page (Sec-Fetch-Site "+quote(site)+")")
			return
		}
		if !equal(r.Header.Get(CSRFHeader), g.csrf) {
			refuse(w, http.StatusForbidden, "missing or wrong CSRF token; reload the page")
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// authenticated checks the token: the cookie, or on a GET the query
// parameter, which then becomes the cookie, and the address bar loses it
// by a redirect. Anything else is 401 and nothing more.
func (g *guard) authenticated(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if t, ok := q[TokenParam]; ok {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || len(t) != 1 || !equal(t[0], g.token) {
			unauthorized(w, r)
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: g.cookie, Value: g.token, Path: "/", HttpOnly: true, Secure: g.secure, SameSite: http.SameSiteStrictMode})
		q.Del(TokenParam)
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return false
	}
	c, err := r.Cookie(g.cookie)
	if err != nil || !equal(c.Value, g.token) {
		unauthorized(w, r)
		return false
	}
	return true
}

// unauthorized answers 401: for a browser, a page saying where the
// dashboard's address is; for anything else, one line.
func unauthorized(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(tokenHelpPage)
		return
	}
	refuse(w, http.StatusUnauthorized, "missing or wrong token: open the address `claude-bottle dashboard` printed (also in dashboard.url in claude-bottle's state root)")
}

// refuse answers status with one line of text.
func refuse(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// setSecurityHeaders sets what every answer carries: the page runs only
// its own scripts and styles, is never framed, and leaks no address.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// tokenHelpPage is the 401 page a browser gets: how to find the address
// with its token. It shows nothing of the dashboard.
var tokenHelpPage = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>claude-bottle dashboard: token needed</title></head>
<body>
<h1>This dashboard needs its token</h1>
<p>Each start of <code>claude-bottle dashboard</code> prints an address with a fresh token, like
<code>http://127.0.0.1:8947/?token=…</code>. Open that address: the browser then keeps the token
in a cookie for this start of the dashboard.</p>
<p>Lost it? The address is also in the file <code>dashboard.url</code> in claude-bottle's state root
(<code>$CLAUDE_BOTTLE_HOME</code>, by default <code>~/.claude-bottle/dashboard.url</code>), readable only by you:</p>
<pre>cat ~/.claude-bottle/dashboard.url</pre>
<p>A dashboard that was restarted has a new token: take the new address.</p>
</body></html>
`)
