package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/request"
)

// Proxy is the host side of a bottle's HTTP(S) proxy: it serves CONNECT
// host:port and absolute-form requests (http://host/path) for destinations
// its Policy allows, and refuses the rest with a 403 whose body says how to
// ask for them. Each refusal that asking could fix is recorded as a
// suggested request.
type Proxy struct {
	// Policy decides every destination.
	Policy *Policy
	// Slug is the bottle's, for suggestions and the log.
	Slug string
	// Suggest records refusals as suggested requests; nil records none.
	Suggest Suggester
	// Self serves absolute-form requests addressed to the bottle's own
	// proxy (a client that sends even its ANTHROPIC_BASE_URL calls
	// through the proxy); nil refuses them like any loopback address.
	Self http.Handler
	// SelfAddrs are the addresses that are the bottle's own proxy, like
	// "127.0.0.1:3128" and "localhost:3128".
	SelfAddrs []string
	// Log records refusals; nil discards.
	Log *slog.Logger
	// DialTimeout bounds each connect upstream; zero means 10 s.
	DialTimeout time.Duration

	once      sync.Once
	transport *http.Transport
	suggested suggestedSet
}

// Suggester records a refusal as a suggested request of the bottle.
type Suggester interface {
	SuggestEgress(ctx context.Context, slug string, r *Refusal) error
}

// ServeHTTP answers one proxy request from the bottle.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.once.Do(p.init)
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		http.Error(w, "claude-bottle: this is a proxy: send CONNECT host:port or an absolute URL", http.StatusBadRequest)
		return
	}
	if p.Self != nil && p.isSelf(r.URL.Host) {
		r.URL.Scheme, r.URL.Host = "", ""
		r.RequestURI = r.URL.RequestURI()
		p.Self.ServeHTTP(w, r)
		return
	}
	p.forward(w, r)
}

func (p *Proxy) init() {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.DialTimeout <= 0 {
		p.DialTimeout = 10 * time.Second
	}
	p.transport = &http.Transport{
		Proxy:                 nil, // the host's own proxy settings are not the bottle's
		DialContext:           p.dialAddr,
		ForceAttemptHTTP2:     false,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
	}
}

func (p *Proxy) isSelf(hostport string) bool {
	for _, s := range p.SelfAddrs {
		if strings.EqualFold(s, hostport) {
			return true
		}
	}
	return false
}

// connect opens a tunnel to host:port.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := splitTarget(r.Host, 0)
	if err != nil {
		http.Error(w, "claude-bottle: CONNECT wants host:port: "+err.Error(), http.StatusBadRequest)
		return
	}
	up, err := p.dial(r.Context(), host, port)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, "claude-bottle: cannot open a tunnel on this connection", http.StatusInternalServerError)
		return
	}
	conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		up.Close()
		return
	}
	// The client may have sent its first bytes (a TLS hello) with the
	// CONNECT: they sit in the server's buffer.
	if n := brw.Reader.Buffered(); n > 0 {
		head, _ := brw.Reader.Peek(n)
		if _, err := up.Write(head); err != nil {
			conn.Close()
			up.Close()
			return
		}
	}
	go tunnel(conn, up)
}

// tunnel copies both ways until both sides are done, passing each side's
// end of writing on to the other.
func tunnel(a, b net.Conn) {
	defer a.Close()
	defer b.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		if _, err := io.Copy(dst, src); err != nil {
			a.Close()
			b.Close()
		}
		closeWrite(dst)
		done <- struct{}{}
	}
	go pipe(a, b)
	go pipe(b, a)
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// forward relays one absolute-form request.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	defPort := 80
	if r.URL.Scheme == "https" {
		defPort = 443
	} else if r.URL.Scheme != "http" {
		http.Error(w, fmt.Sprintf("claude-bottle: scheme %q: the proxy takes http and https URLs", clip(r.URL.Scheme)), http.StatusBadRequest)
		return
	}
	host, port, err := splitTarget(r.URL.Host, defPort)
	if err != nil {
		http.Error(w, "claude-bottle: "+err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := p.Policy.Check(r.Context(), host, port); err != nil {
		p.fail(w, r, err)
		return
	}
	r, done := detach(r)
	defer done()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The Host sent is the checked URL's: a different Host header
			// would name a destination the policy never saw.
			pr.Out.URL, pr.Out.Host = pr.In.URL, ""
		},
		Transport:     p.transport,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(p.Log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.fail(w, r, err)
		},
	}
	rp.ServeHTTP(w, r)
}

// detach returns r on a context the client's half-close does not cancel,
// and the function that ends it. A client that ends its writing after an
// HTTP/1.0 request (nc, many scripts) would otherwise cancel its own
// request: net/http cannot tell that from a client that is gone. One that
// is really gone makes the next write fail, which ends the relay just the
// same. (The context must have a Done channel: without one ReverseProxy
// falls back to CloseNotify, which fires on the half-close too.)
func detach(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	return r.WithContext(ctx), cancel
}

// dialAddr is the transport's dial: every connection it opens is checked
// by the policy, whatever the transport was asked.
func (p *Proxy) dialAddr(ctx context.Context, _, addr string) (net.Conn, error) {
	host, port, err := splitTarget(addr, 0)
	if err != nil {
		return nil, err
	}
	return p.dial(ctx, host, port)
}

// dial checks host:port and connects to the first of its allowed
// addresses that answers. The dialer checks each address again as it
// connects, so nothing but a checked address is ever reached.
func (p *Proxy) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	d, err := p.Policy.Check(ctx, host, port)
	if err != nil {
		return nil, err
	}
	allowed := make(map[netip.Addr]bool, len(d.Addrs))
	for _, a := range d.Addrs {
		allowed[a.Unmap()] = true
	}
	dialer := net.Dialer{
		Timeout: p.DialTimeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !allowed[ap.Addr().Unmap()] {
				return fmt.Errorf("egress: refusing to connect to unchecked address %s", address)
			}
			return nil
		},
	}
	var last error
	for _, a := range d.Addrs {
		c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(a.String(), strconv.Itoa(port)))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("connecting to %s: %w", allow.Rule{Host: d.Host, Port: port}, last)
}

// splitTarget reads host:port; a missing port is def (0: required).
func splitTarget(hostport string, def int) (string, int, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		if def == 0 {
			return "", 0, fmt.Errorf("%q is not host:port", clip(hostport))
		}
		return strings.Trim(hostport, "[]"), def, nil
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: the port must be 1 to 65535", clip(hostport))
	}
	return host, port, nil
}

// fail answers an error: a refusal is 403 with how to ask (and recorded
// as a suggestion), anything else 502.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ref *Refusal
	if !errors.As(err, &ref) {
		p.Log.Info("egress failed", "bottle", p.Slug, "target", r.Host, "err", err)
		http.Error(w, "claude-bottle: the host could not reach it: "+oneLine(err.Error()), http.StatusBadGateway)
		return
	}
	p.Log.Info("egress refused", "bottle", p.Slug, "target", ref.Target(), "reason", ref.Reason)
	if ref.Askable && p.Suggest != nil && p.suggested.first(ref.Target()) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		if err := p.Suggest.SuggestEgress(ctx, p.Slug, ref); err != nil {
			// The log may be the terminal the agent runs on: a bottle
			// that has asked too much already is not news.
			level := slog.LevelWarn
			if errors.Is(err, request.ErrTooMany) {
				level = slog.LevelDebug
			}
			p.Log.Log(ctx, level, "recording an egress suggestion", "bottle", p.Slug, "target", ref.Target(), "err", err)
		}
		cancel()
	}
	w.Header().Set("X-Claude-Bottle-Refused", ref.Target())
	http.Error(w, RefusalText(ref), http.StatusForbidden)
}

// RefusalText is the body of a refusal: what was refused, why, and how to
// ask for it.
func RefusalText(ref *Refusal) string {
	msg := "claude-bottle: egress refused: " + oneLine(ref.Reason) + "."
	if ref.Askable {
		msg += fmt.Sprintf(" Ask the operator for it with the request_egress tool (MCP server claude-bottle), or run: claude-bottle request egress %s --reason TEXT", ref.Target())
	}
	return msg
}

func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "?"), func(r rune) bool { return r < 0x20 || r == 0x7f }), " ")
}

// suggestedSet remembers the targets already suggested, so a client
// retrying in a loop records one suggestion, not one per attempt.
type suggestedSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// maxSuggested bounds the memory; past it every target counts as seen
// (the request store caps a bottle's open requests anyway).
const maxSuggested = 256

func (s *suggestedSet) first(target string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[target] || len(s.seen) >= maxSuggested {
		return false
	}
	s.seen[target] = true
	return true
}
