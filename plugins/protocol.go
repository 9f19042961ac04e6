package plugins

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
)

// Handshake is the go-plugin handshake every driver plugin answers. The
// cookie is not a security measure: it makes a plugin refuse to run when a
// person starts it by hand, and makes claude-bottle refuse a binary that is
// not one of its plugins.
var Handshake = plugin.HandshakeConfig{
	MagicCookieKey:   "CLAUDE_BOTTLE_DRIVER_PLUGIN",
	MagicCookieValue: "6f1c1d0e-builder-plugin-cookie",
}

// ProtocolVersion is the driver protocol this code speaks (internal/pb's
// claudebottle.driver.v1).
const ProtocolVersion = 1

// pluginKey names the one plugin type a driver process dispenses.
const pluginKey = "driver"

// BuiltinArg is the hidden claude-bottle command that serves a built-in
// driver: `claude-bottle __driver-serve NAME`.
const BuiltinArg = "__driver-serve"

// ProtocolVersions lists the protocol versions this host can speak, oldest
// first.
func ProtocolVersions() []int {
	vs := make([]int, 0, len(hostPlugins()))
	for v := range hostPlugins() {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// hostPlugins is the host's versioned plugin set: one entry per protocol
// version it speaks. go-plugin sends the list to the plugin, which picks
// the newest it also speaks.
func hostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {pluginKey: &grpcDriver{}},
	}
}

// servePlugins is the plugin's versioned plugin set, serving p.
func servePlugins(p *server) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {pluginKey: &grpcDriver{impl: p}},
	}
}

// grpcDriver is the go-plugin adapter between the Driver gRPC service and
// the Go types: on the plugin side it registers the server, on the host
// side it returns a client.
type grpcDriver struct {
	plugin.NetRPCUnsupportedPlugin
	impl *server
}

// GRPCServer registers the driver service on the plugin's gRPC server.
func (g *grpcDriver) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if g.impl == nil {
		return fmt.Errorf("driver plugin: no implementation to serve")
	}
	g.impl.broker = broker
	pb.RegisterDriverServer(s, g.impl)
	return nil
}

// GRPCClient returns the host's client of the driver service.
func (g *grpcDriver) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &rpcClient{rpc: pb.NewDriverClient(c), broker: broker}, nil
}

var _ plugin.GRPCPlugin = (*grpcDriver)(nil)

// features is a helper for sorting an Info's feature names for display.
func featureNames(info driver.Info) []string {
	var names []string
	for f, ok := range info.Features {
		if ok {
			names = append(names, string(f))
		}
	}
	sort.Strings(names)
	return names
}
