package inbottle

import (
	"bufio"
	"context"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startForwarder serves a Forwarder to socket on a loopback port.
func startForwarder(t *testing.T, f *Forwarder) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return ln.Addr().String()
}

// upstream is a unix socket server that answers each line with "got:"
// and the line, and closes its side when the client closes its own.
func upstream(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "bottle.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, "got:"+sc.Text()+"\n")
				}
			}()
		}
	}()
	return sock
}

func TestForwarderRelays(t *testing.T) {
	addr := startForwarder(t, &Forwarder{Socket: upstream(t)})
	for i := range 3 { // several connections, each its own relay
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "CONNECT api.anthropic.com:443 HTTP/1.1\n")
		c.(*net.TCPConn).CloseWrite() // the end of writing reaches the socket
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "got:CONNECT api.anthropic.com:443 HTTP/1.1\n" {
			t.Errorf("connection %d: read %q, %v", i, got, err)
		}
	}
}

// TestForwarderNoSocket: with nothing serving the socket, a connection
// is closed at once and the forwarder goes on.
func TestForwarderNoSocket(t *testing.T) {
	addr := startForwarder(t, &Forwarder{Socket: filepath.Join(t.TempDir(), "none.sock"), DialTimeout: time.Second})
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if len(got) != 0 || (err != nil && !strings.Contains(err.Error(), "reset")) {
			t.Errorf("read %q, %v; want the connection closed", got, err)
		}
	}
}

// TestForwarderBounded: past MaxConns, a connection waits for a slot.
func TestForwarderBounded(t *testing.T) {
	addr := startForwarder(t, &Forwarder{Socket: upstream(t), MaxConns: 1})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(first, "one\n")
	r1 := bufio.NewReader(first)
	first.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := r1.ReadString('\n'); err != nil || line != "got:one\n" {
		t.Fatalf("first: %q, %v", line, err)
	}
	second, err := net.Dial("tcp", addr) // the kernel accepts; the relay waits
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	io.WriteString(second, "two\n")
	r2 := bufio.NewReader(second)
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := r2.ReadString('\n'); err == nil {
		t.Fatalf("second connection relayed %q while the only slot was taken", line)
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r2.ReadString('\n'); err != nil || line != "got:two\n" {
		t.Errorf("second after the first closed: %q, %v", line, err)
	}
}
