// Package plugins is the host side of claude-bottle's build driver
// plugins: it runs every driver, built-in or third-party, as a
// hashicorp/go-plugin subprocess, so that a driver's crash or leak never
// takes claude-bottle down and anyone can ship a driver as an executable
// named claude-bottle-driver-NAME.
//
// The Manager discovers drivers (built-ins, the plugins folder of the state
// root, $PATH), installs and upgrades plugins and records their checksums
// in a lock file, verifies them before every start, starts each driver
// lazily in its own process group with a private TMPDIR, turns a crash into
// a CrashError, and hands out driver.Builder values that call into the
// subprocess; a build through them that fails leaves its tags in the
// Docker engine where they were. ChooseDefault is the one rule that picks
// the driver when the user names none.
//
// The plugin side (Serve, ServeBuiltin, the in-process server, test
// helpers) is package plugins/sdk; what both sides share (handshake, plugin
// sets, gRPC client, codec, error classes on gRPC statuses) is
// internal/wire. A plugin built with the SDK links none of this package.
package plugins
