// Command testplugin is a driver plugin that misbehaves on request, for
// claude-bottle's integration tests. CB_TESTPLUGIN_MODE picks how:
//
//	(unset)      a well-behaved driver whose builds do nothing
//	stdout-junk  writes to stdout before serving (claude-bottle must cope)
//	v2           speaks driver protocol version 2 only (must be refused)
//
// It lives under internal/ because nobody should ship it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

func main() {
	switch mode := os.Getenv("CB_TESTPLUGIN_MODE"); mode {
	case "":
	case "stdout-junk":
		fmt.Println("testplugin: starting up (a stray line on stdout)")
		fmt.Print("and half a line without a newline: ")
	case "v2":
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  sdk.Handshake,
			VersionedPlugins: map[int]plugin.PluginSet{2: {"driver": v2{}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		return
	default:
		fmt.Fprintf(os.Stderr, "testplugin: unknown CB_TESTPLUGIN_MODE %q\n", mode)
		os.Exit(2)
	}
	sdk.Serve(sdk.Plugin{
		Name: "testplugin", Version: "0.0.1", Usage: "does nothing, on purpose",
		New: func(context.Context, driver.Config) (driver.Builder, error) { return noop{}, nil },
	})
}

type noop struct{}

func (noop) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "testplugin", Version: "0.0.1"}, nil
}

func (noop) Check(context.Context) error { return nil }

func (noop) Build(_ context.Context, req driver.Request, _ driver.Sink) (*driver.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &driver.Result{ImageID: "sha256:0", Tags: req.Tags}, nil
}

// v2 stands for a plugin built for a future protocol: it answers the
// handshake with version 2 and serves nothing this host could call.
type v2 struct{ plugin.NetRPCUnsupportedPlugin }

func (v2) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }

func (v2) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, nil
}
