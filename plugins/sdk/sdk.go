// Package sdk is what a third-party claude-bottle build driver is written
// with. A driver plugin is an executable named claude-bottle-driver-NAME
// whose main function calls Serve once:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:    "mydriver",
//			Version: "1.0.0",
//			Usage:   "builds images with mytool",
//			New: func(ctx context.Context, cfg driver.Config) (driver.Builder, error) {
//				return &builder{cfg: cfg}, nil
//			},
//		})
//	}
//
// The Builder it makes implements driver.Builder (Info, Check, Build);
// everything else (the go-plugin handshake, the gRPC protocol, progress
// streaming, error classes, secrets fetched from claude-bottle on demand,
// logging to claude-bottle's log through cfg.Logger) is done here. Users
// install the binary with `claude-bottle plugin install PATH`, which
// records its checksum; `claude-bottle drivers` lists it.
//
// Rules for a driver: do not write to stdout before Serve (claude-bottle
// skips such lines, but they are lost); log through cfg.Logger; class
// errors with the driver.Err* sentinels (they survive the process boundary);
// honour ctx (a Ctrl-C cancels it); send progress to the sink only while
// Build runs. Package sdktest runs a real claude-bottle host against the
// plugin for tests.
package sdk

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/plugins"
)

// Plugin describes the driver to serve: Name, Version, Usage, an optional
// Priority, and New, which makes the Builder.
type Plugin = plugins.Plugin

// Description is a plugin's self-description.
type Description = plugins.Description

// ProtocolVersion is the driver protocol plugins built with this SDK speak.
const ProtocolVersion = plugins.ProtocolVersion

// Priority returns a pointer to n, for Plugin.Priority: the default
// driver is the highest-priority one that can build; a plugin without a
// priority ranks below every built-in driver.
func Priority(n int) *int { return &n }

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
	if os.Getenv(plugins.Handshake.MagicCookieKey) == "" {
		fmt.Fprintf(os.Stderr, "%s is the claude-bottle build driver %q (version %s, protocol %d); claude-bottle runs it.\n"+
			"Install it with: claude-bottle plugin install %s\n", filepath.Base(os.Args[0]), p.Name, p.Version, ProtocolVersion, os.Args[0])
		os.Exit(1)
	}
	if err := plugins.Serve(p); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
		os.Exit(1)
	}
	os.Exit(0)
}
