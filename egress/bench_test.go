package egress

import (
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

// BenchmarkProxyRequest measures one small request through the proxy on
// a kept-alive connection: policy check (with the capability list read
// from disk) plus the relay.
func BenchmarkProxyRequest(b *testing.B) {
	srv := httptest.NewServer(hello("bench"))
	defer srv.Close()
	e := newProxyEnv(b, []allow.Rule{ruleFor(b, srv.URL)}, nil)
	b.ResetTimer()
	for b.Loop() {
		resp, err := e.client.Get(srv.URL + "/x")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkTunnelThroughput measures bytes through one CONNECT tunnel.
func BenchmarkTunnelThroughput(b *testing.B) {
	const size = 8 << 20
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	e := newProxyEnv(b, []allow.Rule{{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}}, nil)
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: x\r\n\r\n", ln.Addr())
	head := make([]byte, len("HTTP/1.1 200 Connection established\r\n\r\n"))
	if _, err := io.ReadFull(conn, head); err != nil || !strings.Contains(string(head), "200") {
		b.Fatalf("CONNECT: %q %v", head, err)
	}
	buf := make([]byte, size)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		go conn.Write(buf)
		if _, err := io.ReadFull(conn, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPolicyCheck measures the decision alone: the static rules and
// the bottle's capability list read from disk.
func BenchmarkPolicyCheck(b *testing.B) {
	e := newProxyEnv(b, []allow.Rule{{Host: "127.0.0.1", Port: 8080}}, nil)
	ctx := b.Context()
	for b.Loop() {
		if _, err := e.proxy.Policy.Check(ctx, "127.0.0.1", 8080); err != nil {
			b.Fatal(err)
		}
	}
}
