package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
)

// EngineCounter is a Docker engine API proxy on a unix socket that counts
// the request bytes sent through it: to the image-load API and in all. The
// bench points a client at it (DOCKER_HOST, --docker-host) for one extra,
// untimed run, to show what a no-op rebuild sends the engine.
type EngineCounter struct {
	// Host is its unix:// address.
	Host string
	srv  *http.Server

	loadBytes, allBytes, requests atomic.Int64
}

// StartEngineCounter listens on sock and forwards to the engine's socket.
func StartEngineCounter(sock, engineSock string) (*EngineCounter, error) {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	c := &EngineCounter{Host: "unix://" + sock}
	target, _ := url.Parse("http://docker")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engineSock)
	}}
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		load := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/images/load")
		r.Body = &countingBody{ReadCloser: r.Body, all: &c.allBytes, load: &c.loadBytes, isLoad: load}
		proxy.ServeHTTP(w, r)
	})}
	go c.srv.Serve(l)
	return c, nil
}

// Counts are what went through a counter.
type Counts struct {
	// LoadBytes went to POST /images/load, AllBytes to any endpoint, in
	// Requests requests.
	LoadBytes, AllBytes, Requests int64
}

// Take returns the counts so far and sets them back to zero.
func (c *EngineCounter) Take() Counts {
	return Counts{LoadBytes: c.loadBytes.Swap(0), AllBytes: c.allBytes.Swap(0), Requests: c.requests.Swap(0)}
}

// Close stops the proxy.
func (c *EngineCounter) Close() error { return c.srv.Close() }

type countingBody struct {
	io.ReadCloser
	all, load *atomic.Int64
	isLoad    bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.all.Add(int64(n))
	if b.isLoad {
		b.load.Add(int64(n))
	}
	return n, err
}
