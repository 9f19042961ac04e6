// Package wire is what both ends of a claude-bottle driver plugin share:
// the go-plugin handshake and versioned plugin sets, the gRPC client of the
// Driver service, the codec between package driver's types and the
// protobuf messages of internal/pb, the mapping of driver error classes onto
// gRPC statuses, and the adapter from go-plugin's hclog logging to slog.
//
// The host (package plugins) and the plugin side (package plugins/sdk)
// import it; nothing outside plugins/ can, so a change here never breaks a
// third-party plugin's source, only (with a new protocol version) its
// binary.
package wire
