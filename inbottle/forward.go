package inbottle

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Forwarder relays every connection it accepts, byte for byte, to the
// bottle socket. It is the agent's HTTP(S) proxy on the bottle's loopback:
// a bottle without a network reaches the host only through its socket,
// where the host decides what may pass. The forwarder decides nothing and
// reads nothing: a connection the socket does not take is closed.
type Forwarder struct {
	// Socket is the bottle socket's path (SocketPath in a bottle).
	Socket string
	// MaxConns bounds the connections relayed at once; more wait to be
	// accepted. Zero means defaultMaxConns.
	MaxConns int
	// DialTimeout bounds each connect to the socket; zero means 5 s.
	DialTimeout time.Duration
}

// defaultMaxConns is generous for one agent's HTTP clients and small
// enough that an agent opening connections in a loop cannot exhaust PID
// 1's descriptors.
const defaultMaxConns = 256

// Serve accepts connections on ln until ctx ends or ln fails, relaying
// each to the socket. It closes ln when it returns.
func (f *Forwarder) Serve(ctx context.Context, ln net.Listener) error {
	max, timeout := f.MaxConns, f.DialTimeout
	if max <= 0 {
		max = defaultMaxConns
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	slots := make(chan struct{}, max)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			f.relay(ctx, conn, timeout)
		}()
	}
}

// relay copies conn to a new connection to the socket and back, passing
// each side's end of writing on to the other, until both are done.
func (f *Forwarder) relay(ctx context.Context, conn net.Conn, timeout time.Duration) {
	defer conn.Close()
	d := net.Dialer{Timeout: timeout}
	up, err := d.DialContext(ctx, "unix", f.Socket)
	if err != nil {
		return // nothing serves the socket: the client sees the close
	}
	defer up.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close(); up.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		if _, err := io.Copy(dst, src); err != nil {
			// A broken side ends the whole relay, so the other copy
			// cannot wait on it forever.
			conn.Close()
			up.Close()
		}
		closeWrite(dst)
		done <- struct{}{}
	}
	go pipe(up, conn)
	go pipe(conn, up)
	<-done
	<-done
}

// closeWrite ends c's writing half where the connection has one.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}
