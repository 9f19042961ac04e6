package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-plugin"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// InProcess serves p inside this process, in go-plugin's test mode, and
// returns a Builder connected to it over gRPC: the same protocol, codec,
// error mapping and secret callbacks as a real plugin, without a
// subprocess. It is for tests and debuggers (package sdktest wraps it for
// go test); stop releases both ends.
func InProcess(ctx context.Context, p Plugin, cfg driver.Config) (b driver.Builder, stop func() error, err error) {
	if err := p.validate(); err != nil {
		return nil, nil, err
	}
	// The driver logs to cfg.Logger directly (it is in this process), and
	// go-plugin's client to it at debug level; both through a gate that
	// stop shuts, as go-plugin's goroutines may log after Kill returns.
	gate := &wire.LogGate{}
	log := gate.Wrap(cfg.Log())
	sctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	srv := newServer(p, log)
	go serveWith(srv, &plugin.ServeTestConfig{Context: sctx, ReattachConfigCh: reattach, CloseCh: closed})
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-ctx.Done():
		cancel()
		<-closed
		gate.ShutDown()
		return nil, nil, ctx.Err()
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          wire.HostPlugins()[rc.ProtocolVersion],
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Reattach:         rc,
		Logger:           wire.NewHCLogger(log, nil, p.Name),
	})
	var once sync.Once
	stop = func() error {
		once.Do(func() {
			client.Kill()
			cancel()
			<-closed
			gate.ShutDown()
		})
		return nil
	}
	proto, err := client.Client()
	if err == nil {
		var raw any
		if raw, err = proto.Dispense(wire.PluginKey); err == nil {
			cfg.Logger = nil
			ib := &inProcess{name: p.Name, rpc: raw.(*wire.Client), srv: srv, log: log}
			if _, err = ib.rpc.Configure(ctx, cfg); err == nil {
				return ib, stop, nil
			}
			err = ib.mapErr(ctx, err)
		}
	}
	stop()
	return nil, nil, fmt.Errorf("serving driver %q in process: %w", p.Name, err)
}

// inProcess is the Builder InProcess returns.
type inProcess struct {
	name string
	rpc  *wire.Client
	srv  *server
	log  *slog.Logger
}

// mapErr classifies a call's error as the host does: the driver's own
// error with its classes, a cancellation (whichever end saw it first), or
// a failure of the connection.
func (b *inProcess) mapErr(ctx context.Context, err error) error {
	if out, ok := wire.FromStatus(err); ok {
		return driver.Canceled(ctx, out)
	}
	if out := wire.Ended(ctx, err, fmt.Sprintf("driver %q", b.name)); out != nil {
		return out
	}
	return fmt.Errorf("driver %q: %w", b.name, err)
}

// Info describes the driver.
func (b *inProcess) Info(ctx context.Context) (driver.Info, error) {
	i, err := b.rpc.Info(ctx)
	if err != nil {
		return i, b.mapErr(ctx, err)
	}
	return i, nil
}

// Check runs the driver's Check.
func (b *inProcess) Check(ctx context.Context) error {
	if err := b.rpc.Check(ctx); err != nil {
		return b.mapErr(ctx, err)
	}
	return nil
}

// Build runs one build through the protocol. Unlike a call to a plugin's
// process, which the host can kill and whose TMPDIR it removes, it returns
// only once the driver's Build has (bounded by returnWait), so that what
// the driver cleans up on a cancel is gone when it returns.
func (b *inProcess) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	cctx, id, call := b.srv.awaited.expect(ctx)
	defer b.srv.awaited.forget(id)
	r, err := b.rpc.Build(cctx, req, sink)
	if err != nil {
		if !call.wait() {
			b.log.Warn("the driver's Build is still running after the call ended; it must return soon after its context is canceled", "driver", b.name, "waited", returnWait)
		}
		return nil, b.mapErr(ctx, err)
	}
	return r, nil
}
