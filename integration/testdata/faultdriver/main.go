// Command faultdriver is a claude-bottle driver plugin for the fault
// tests: the real BuildKit driver, which crashes on purpose at a point of
// the build chosen with driver options, or a plugin that is broken in a
// way chosen by $CB_FAULT_MODE (for the bad-plugin tests).
//
//	--driver-opt crash-at=start|context|export|done  where the build dies
//	--driver-opt crash-how=kill|panic|fail           SIGKILL itself, panic, or
//	                                                 (at done only) fail the build
//	--driver-opt crash-stamp=PATH                    write the crash time there first,
//	                                                 and crash only if PATH does not exist
//	--driver-opt env-dump=PATH                       write the plugin's environment there
//	                                                 when it is configured
//	--driver-opt stall=configure|build               after the handshake, stop answering in
//	                                                 setup or in Build
//	--driver-opt stall-with=setsid|flood             while stalled, start a detached child
//	                                                 (setsid sleep 300) or flood stderr
//	--driver-opt escape=1                            write terminal escapes to stderr when
//	                                                 configured, and fail Check with some
//
// The points: "start" is the beginning of Build, before any daemon is
// contacted; "context" is when the build context starts to be sent (the
// "[internal] load build context" step starts); "export" is when the
// result starts to be exported ("exporting to ..." starts); "done" is once
// the build has finished and tagged the image in the engine, as a driver
// that tags by itself and then fails would.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/driver/buildkit"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

func main() {
	switch mode := os.Getenv("CB_FAULT_MODE"); mode {
	case "":
	case "v99":
		serveProtocol99()
		return
	default:
		fmt.Fprintf(os.Stderr, "faultdriver: unknown CB_FAULT_MODE %q\n", mode)
		os.Exit(2)
	}
	sdk.Serve(sdk.Plugin{
		Name: "faulty", Version: "0.0.1-test",
		Usage: "the BuildKit driver, crashing at a chosen point of the build (tests only)",
		New:   newFaulty,
	})
}

// faulty is the BuildKit driver with a crash point.
type faulty struct {
	driver.Builder
	at, how, stamp string
	escape         bool
	stall          string
	stallWith      string
}

// termEscapes retitle the terminal window and clear the screen when
// printed raw.
const termEscapes = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred"

// Check fails with terminal escapes in its message under escape=1.
func (f *faulty) Check(ctx context.Context) error {
	if f.escape {
		return fmt.Errorf("%w: daemon says "+termEscapes, driver.ErrDaemonUnreachable)
	}
	return f.Builder.Check(ctx)
}

func newFaulty(ctx context.Context, cfg driver.Config) (driver.Builder, error) {
	if cfg.Opts["stall"] == "configure" {
		stall(cfg.Opts["stall-with"])
	}
	if p := cfg.Opts["env-dump"]; p != "" {
		if err := os.WriteFile(p, []byte(strings.Join(os.Environ(), "\n")), 0o600); err != nil {
			return nil, err
		}
	}
	at, how := cfg.Opts["crash-at"], cfg.Opts["crash-how"]
	switch at {
	case "", "start", "context", "export", "done":
	default:
		return nil, fmt.Errorf("%w: crash-at=%q: want start, context, export or done", driver.ErrInvalidRequest, at)
	}
	switch {
	case how == "fail" && at != "done":
		return nil, fmt.Errorf("%w: crash-how=fail needs crash-at=done", driver.ErrInvalidRequest)
	case how != "" && how != "kill" && how != "panic" && how != "fail":
		return nil, fmt.Errorf("%w: crash-how=%q: want kill, panic or fail", driver.ErrInvalidRequest, how)
	}
	inner, err := buildkit.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Opts["escape"] == "1" {
		fmt.Fprintln(os.Stderr, "faultdriver: "+termEscapes+" on stderr")
	}
	return &faulty{Builder: inner, at: at, how: how, stamp: cfg.Opts["crash-stamp"], escape: cfg.Opts["escape"] == "1",
		stall: cfg.Opts["stall"], stallWith: cfg.Opts["stall-with"]}, nil
}

// Close closes the BuildKit driver.
func (f *faulty) Close() error {
	if c, ok := f.Builder.(driver.Closer); ok {
		return c.Close()
	}
	return nil
}

// stall never returns: the plugin answered the handshake and then stops
// answering, optionally starting a detached child or flooding stderr.
func stall(with string) {
	switch with {
	case "setsid":
		exec.Command("setsid", "sleep", "300").Start()
	case "flood":
		line := strings.Repeat("flood ", 20) + "\n"
		for {
			os.Stderr.WriteString(line)
		}
	}
	select {}
}

// Build runs the BuildKit driver's build, dying at the chosen point.
func (f *faulty) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if f.stall == "build" {
		stall(f.stallWith)
	}
	if f.at == "start" {
		f.crash("start")
	}
	if f.at == "" {
		return f.Builder.Build(ctx, req, sink)
	}
	if f.at == "done" {
		res, err := f.Builder.Build(ctx, req, sink)
		if err != nil || !f.crash("done") {
			return res, err
		}
		return nil, fmt.Errorf("%w: faultdriver fails on purpose after the image was tagged", driver.ErrBuildFailed)
	}
	var once sync.Once
	watch := driver.SinkFunc(func(ev *driver.Event) {
		if sink != nil {
			sink.Send(ev)
		}
		for _, v := range ev.Vertexes {
			if v.Started != nil && v.Completed == nil && f.reached(v.Name) {
				once.Do(func() { f.crash(v.Name) })
			}
		}
	})
	return f.Builder.Build(ctx, req, watch)
}

func (f *faulty) reached(step string) bool {
	switch f.at {
	case "context":
		return strings.Contains(step, "load build context")
	case "export":
		return strings.HasPrefix(step, "exporting to")
	}
	return false
}

// crash records when, then dies as chosen: a panic (in whichever
// goroutine reached the point, which no one recovers) or SIGKILL; with
// crash-how=fail it returns true for the caller to fail the build. With a
// stamp file it crashes once: the next build, in a fresh process, finds
// the stamp and goes on.
func (f *faulty) crash(where string) bool {
	if f.stamp != "" {
		if _, err := os.Stat(f.stamp); err == nil {
			return false
		}
		os.WriteFile(f.stamp, []byte(strconv.FormatInt(time.Now().UnixNano(), 10)), 0o644)
	}
	if f.how == "fail" {
		return true
	}
	fmt.Fprintf(os.Stderr, "faultdriver: crashing (%s) at %q\n", f.how, where)
	if f.how == "panic" {
		panic("faultdriver panics on purpose at " + where)
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL cannot be caught; wait for it to land
}

// serveProtocol99 answers the handshake for a driver protocol version no
// claude-bottle speaks.
func serveProtocol99() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{99: {"driver": stub{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}

// stub is a gRPC plugin with no service.
type stub struct{ plugin.NetRPCUnsupportedPlugin }

func (stub) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (stub) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, fmt.Errorf("no client for protocol 99")
}
