package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/internal/pb"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// Plugin describes a driver to serve: what it is called and how to make
// its Builder.
type Plugin struct {
	// Name is the driver's name (--driver=NAME): 1 to 63 lowercase letters,
	// digits, '-' or '_'. The plugin's binary is named
	// claude-bottle-driver-NAME.
	Name string
	// Version is the plugin's own version, shown by `claude-bottle
	// drivers` and `plugin install`.
	Version string
	// Usage is one line that says what the driver is for.
	Usage string
	// Priority ranks the driver when the user names none: the
	// highest-priority driver whose Check passes is the default. Nil ranks
	// it below every built-in driver. Set it with Priority(n).
	Priority *int
	// New makes the Builder from the host's configuration. It must not
	// contact any daemon (Check and Build do that), so that listing
	// drivers stays fast. cfg.Logger writes to the host's log.
	New func(ctx context.Context, cfg driver.Config) (driver.Builder, error)
}

// SDKVersion is the version of this SDK, reported by every plugin in its
// self-description.
const SDKVersion = "1.0.0"

// ProtocolVersion is the driver protocol version plugins built with this
// SDK speak. The host negotiates it at the handshake and refuses a plugin
// speaking none of its versions; it changes only when a change to the
// protocol would break an older peer, unlike SDKVersion.
const ProtocolVersion = 1

// Handshake is the go-plugin handshake claude-bottle and its plugins
// answer. Serve uses it; it is exported for tests that serve something
// else (another protocol version, say) to the host.
var Handshake = wire.Handshake

// Priority returns a pointer to n, for Plugin.Priority: the default
// driver is the highest-priority one that can build; a plugin without a
// priority ranks below every built-in driver.
func Priority(n int) *int { return &n }

// validate refuses a Plugin that cannot be served.
func (p Plugin) validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("%w: the plugin has no Name", wire.ErrInvalidName)
	case wire.ValidName(p.Name) != nil:
		return wire.ValidName(p.Name)
	case p.New == nil:
		return fmt.Errorf("driver plugin %q has no New function", p.Name)
	}
	return nil
}

func (p Plugin) description() *pb.Description {
	d := &pb.Description{Name: p.Name, Version: p.Version, Usage: p.Usage, SdkVersion: SDKVersion}
	if p.Priority != nil {
		v := int32(*p.Priority)
		d.Priority = &v
	}
	return d
}

// Description is a plugin's self-description, as `claude-bottle-driver-NAME
// describe` prints it and the host receives it after the handshake.
type Description struct {
	// Name, Version, Usage and Priority are the Plugin's.
	Name     string `json:"name"`
	Version  string `json:"version,omitempty"`
	Usage    string `json:"usage,omitempty"`
	Priority *int   `json:"priority,omitempty"`
	// SDKVersion is the SDK the plugin was built with.
	SDKVersion string `json:"sdk_version,omitempty"`
	// Protocol is the driver protocol version the plugin speaks.
	Protocol int `json:"protocol"`
}

// Describe returns p's self-description.
func (p Plugin) Describe() Description {
	return Description{Name: p.Name, Version: p.Version, Usage: p.Usage, Priority: p.Priority, SDKVersion: SDKVersion, Protocol: ProtocolVersion}
}

// Serve serves p until claude-bottle stops it, then exits. Run as
// `PLUGIN describe`, it prints p's self-description as JSON instead; run by
// hand otherwise, it says what it is and exits 1.
func Serve(p Plugin) {
	if len(os.Args) == 2 && os.Args[1] == "describe" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.Describe()); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(Handshake.MagicCookieKey) == "" {
		fmt.Fprintf(os.Stderr, "%s is the claude-bottle build driver %q (version %s, protocol %d); claude-bottle runs it.\n"+
			"Install it with: claude-bottle plugin install %s\n", filepath.Base(os.Args[0]), p.Name, p.Version, ProtocolVersion, os.Args[0])
		os.Exit(1)
	}
	if err := serve(p, nil, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
	os.Exit(0)
}
