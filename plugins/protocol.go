package plugins

import (
	"sort"

	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// BuiltinArg is the hidden claude-bottle command that serves a built-in
// driver: `claude-bottle __driver-serve NAME`.
const BuiltinArg = wire.BuiltinArg

// ProtocolVersions lists the driver protocol versions this host can speak,
// oldest first.
func ProtocolVersions() []int {
	vs := make([]int, 0, len(wire.HostPlugins()))
	for v := range wire.HostPlugins() {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	return vs
}

// Description is what a plugin said of itself when it started.
type Description struct {
	// Name, Version, Usage and Priority are the plugin's sdk.Plugin fields.
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Usage    string `json:"usage,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	// SDKVersion is the version of the SDK the plugin was built with.
	SDKVersion string `json:"sdk_version,omitempty"`
	// Protocol is the driver protocol version negotiated with the plugin.
	Protocol int `json:"protocol"`
}

func descriptionFromPB(d *pb.Description, protocol int) Description {
	out := Description{Name: d.GetName(), Version: d.GetVersion(), Usage: d.GetUsage(), SDKVersion: d.GetSdkVersion(), Protocol: protocol}
	if d.Priority != nil {
		v := int(d.GetPriority())
		out.Priority = &v
	}
	return out
}
