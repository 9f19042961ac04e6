package wire

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

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

// PluginKey names the one plugin type a driver process dispenses.
const PluginKey = "driver"

// BuiltinArg is the hidden claude-bottle command that serves a built-in
// driver: `claude-bottle __driver-serve NAME`.
const BuiltinArg = "__driver-serve"

// EnvLogLevel carries the host's log level to the plugin, so a plugin does
// not write entries the host would drop.
const EnvLogLevel = "CLAUDE_BOTTLE_DRIVER_LOG_LEVEL"

// ErrInvalidName: a driver name that cannot name a plugin.
var ErrInvalidName = errors.New("invalid driver name")

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidName checks a driver name before it becomes part of a file name.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1 to 63 lowercase letters, digits, '-' or '_', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// HostPlugins is the host's versioned plugin set: one entry per protocol
// version it speaks. go-plugin sends the list to the plugin, which picks
// the newest it also speaks.
func HostPlugins() map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginKey: &grpcDriver{}},
	}
}

// ServerFunc makes the plugin's Driver service once go-plugin has set up
// the connection; broker reaches back to the host (for secrets).
type ServerFunc func(broker *plugin.GRPCBroker) pb.DriverServer

// ServePlugins is the plugin's versioned plugin set, serving what srv makes.
func ServePlugins(srv ServerFunc) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		ProtocolVersion: {PluginKey: &grpcDriver{server: srv}},
	}
}

// grpcDriver is the go-plugin adapter between the Driver gRPC service and
// the Go types: on the plugin side it registers the server, on the host
// side it returns a Client.
type grpcDriver struct {
	plugin.NetRPCUnsupportedPlugin
	server ServerFunc
}

// GRPCServer registers the driver service on the plugin's gRPC server.
func (g *grpcDriver) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	if g.server == nil {
		return fmt.Errorf("driver plugin: no implementation to serve")
	}
	pb.RegisterDriverServer(s, g.server(broker))
	return nil
}

// GRPCClient returns the host's client of the driver service.
func (g *grpcDriver) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{rpc: pb.NewDriverClient(c), broker: broker}, nil
}

var _ plugin.GRPCPlugin = (*grpcDriver)(nil)

// DriversDirPrefix starts the name of the host's private folder for the
// plugins' sockets and temporary folders: cb-drivers-HOSTPID-RANDOM. A
// plugin orphaned by its host's death removes what it had there, and the
// folder once it is empty.
const DriversDirPrefix = "cb-drivers-"
