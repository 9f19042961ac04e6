// Package plugins runs claude-bottle's build drivers as subprocesses.
//
// Every driver, built-in or third-party, is a hashicorp/go-plugin process
// serving the gRPC protocol in internal/pb, so that a driver's crash or leak
// never takes claude-bottle down and anyone can ship a driver as an
// executable named claude-bottle-driver-NAME:
//
//   - The host side is the Manager: it discovers drivers (built-ins, the
//     plugins folder of the state root, $PATH), starts each one lazily,
//     verifies installed plugins' checksums, and hands out driver.Builder
//     values that call into the subprocess.
//   - The plugin side is Serve: it answers the handshake and serves a
//     driver.Builder made by the plugin's New function. Built-in drivers are
//     served by the claude-bottle binary itself (ServeBuiltin, reached
//     through the hidden "__driver-serve NAME" command), third-party ones
//     through package plugins/sdk.
//
// What both sides share lives here too: the handshake, the versioned plugin
// sets, the codec between driver types and protobuf, and the mapping of
// driver error classes onto gRPC statuses.
package plugins
