//go:build linux

package integration

import (
	"net"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// engineProxy is a byte-level proxy on a unix socket in front of the
// Docker engine's socket. Stopping the real dockerd would break every
// other test running on this machine; cutting the proxy (closing every
// connection and accepting no more) is, to the claude-bottle behind it,
// the engine going away. It also watches requests: hold stops forwarding a
// request's bytes after its first chunk, so that it stays in flight until
// the test acts.
type engineProxy struct {
	// Host is the proxy's address for --docker-host.
	Host string

	engine string
	ln     net.Listener

	mu      sync.Mutex
	conns   []net.Conn
	frozen  bool
	cut     bool
	cutCh   chan struct{}
	watches []*proxyWatch
}

// proxyWatch is a request pattern the proxy looks for.
type proxyWatch struct {
	re   *regexp.Regexp
	hold bool
	hit  chan struct{}
	once sync.Once
}

// startEngineProxy starts a proxy in front of the engine's socket; it is
// cut when t ends.
func startEngineProxy(t *testing.T) *engineProxy {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	return serveEngineProxy(t, ln, "unix://"+sock)
}

// startEngineProxyTCP is startEngineProxy on 127.0.0.1, as a Docker
// engine reached over plain TCP (tcp://127.0.0.1:PORT, no TLS).
func startEngineProxyTCP(t *testing.T) *engineProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveEngineProxy(t, ln, "tcp://"+ln.Addr().String())
}

func serveEngineProxy(t *testing.T, ln net.Listener, host string) *engineProxy {
	p := &engineProxy{Host: host, engine: engineSocket(t), ln: ln, cutCh: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.Cut)
	return p
}

// watch returns a channel closed when a request line matching pattern
// (say `POST /v[0-9.]+/images/load`) reaches the proxy. With hold, the
// proxy forwards the request's first chunk and then nothing more from that
// connection until it is cut.
func (p *engineProxy) watch(pattern string, hold bool) <-chan struct{} {
	w := &proxyWatch{re: regexp.MustCompile(pattern), hold: hold, hit: make(chan struct{})}
	p.mu.Lock()
	p.watches = append(p.watches, w)
	p.mu.Unlock()
	return w.hit
}

// Cut closes every connection and the listener: the engine is gone.
func (p *engineProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return
	}
	p.cut = true
	close(p.cutCh)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

// Freeze makes the engine stop answering without going away: every
// connection stays open, and no byte passes either way any more, as with
// a hung dockerd. Cut (at the latest when the test ends) releases it all.
func (p *engineProxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *engineProxy) isFrozen() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frozen
}

// forward copies src to dst until either ends or the proxy freezes.
func (p *engineProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if p.isFrozen() {
				<-p.cutCh
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *engineProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

// track remembers conns so that Cut closes them; it refuses them once cut.
func (p *engineProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

func (p *engineProxy) handle(client net.Conn) {
	engine, err := net.DialTimeout("unix", p.engine, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, engine) {
		return
	}
	go func() {
		p.forward(client, engine)
		closeWrite(client)
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if p.isFrozen() {
				<-p.cutCh // hung: the request goes nowhere
				return
			}
			if _, werr := engine.Write(buf[:n]); werr != nil {
				return
			}
			if p.matched(buf[:n]) {
				<-p.cutCh // held: nothing more until the cut
				return
			}
		}
		if err != nil {
			closeWrite(engine)
			return
		}
	}
}

// matched fires the watches chunk matches and reports whether one of them
// holds the connection.
func (p *engineProxy) matched(chunk []byte) bool {
	p.mu.Lock()
	ws := append([]*proxyWatch(nil), p.watches...)
	p.mu.Unlock()
	hold := false
	for _, w := range ws {
		if w.re.Match(chunk) {
			w.once.Do(func() { close(w.hit) })
			hold = hold || w.hold
		}
	}
	return hold
}

// closeWrite passes an end of stream on, keeping the other direction open.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// waitHit waits up to limit for a watch to fire.
func waitHit(t *testing.T, hit <-chan struct{}, limit time.Duration, what string) {
	t.Helper()
	select {
	case <-hit:
	case <-time.After(limit):
		t.Fatalf("no %s reached the engine within %v", what, limit)
	}
}
