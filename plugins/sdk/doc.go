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
// records its checksum; `claude-bottle drivers` lists it; `claude-bottle
// plugin upgrade NAME` reinstalls it from the file it came from.
//
// Package plugins/sdk/sdktest tests a driver as claude-bottle runs it,
// with a conformance suite; packages plugins/sdk/clirun and
// plugins/sdk/plainprogress help a driver that wraps a build CLI.
// plugins/examples/buildah is a complete driver, in a module of its own.
//
// # Rules for a driver
//
//   - Refuse what you cannot do before any work: call req.Validate, and
//     return driver.ErrUnsupported for a request field whose feature Info
//     does not declare.
//   - Class every error with the driver.Err* sentinels (wrap them with %w);
//     the classes cross the process boundary and decide claude-bottle's
//     exit code (ErrInvalidRequest and ErrUnsupported are the user's
//     mistakes: exit 2).
//   - Honour ctx: a Ctrl-C or a deadline cancels it; return
//     driver.Canceled(ctx, err) within a few seconds.
//   - Send each step as a driver.Vertex when it starts (Started set) and
//     again when it ends, from one goroutine at a time, and nothing once
//     Build has returned. Builds run concurrently on one Builder.
//   - Ask req.SecretSource for secrets; never put their values in a
//     command's arguments or environment (pass files, or stdin).
//   - Log through cfg.Logger, not stdout: a line written to stdout before
//     Serve is skipped, and stdout is no place for logs afterwards.
//   - Build with -ldflags "-s -w": claude-bottle hashes the whole binary
//     before every start.
//
// # What claude-bottle does around a driver
//
//   - It parses the Dockerfile before any driver runs: a driver never sees
//     one that does not parse, and need not parse it itself.
//   - It does not call Check before Build when the user names the driver
//     (--driver); it calls Check only to pick a default. Build must class
//     an unreachable daemon (driver.ErrDaemonUnreachable) itself.
//   - It shows an error as one line, after the build's progress, where the
//     failed step's output is already shown: say what failed and what to
//     do, and do not repeat the step's output in the error.
//   - It runs one process per driver for each command, started on first
//     use, in its own process group with a private TMPDIR; it kills the
//     group and removes the TMPDIR when it is done, whatever happened.
//   - It notes where a build's tags point in the Docker engine before the
//     build, and puts them back if the build fails or the driver crashes,
//     even if the driver had tagged by itself: a failed build never moves
//     a bottle's tag.
//   - On a crash: a panic in New, Info, Check or Build's own goroutine is
//     recovered here; the progress the driver had sent reaches the user
//     first, then the error shows the panic and its trace, once, and the
//     process is replaced. A panic in another goroutine, or a SIGKILL,
//     ends the process at once: progress still queued in it is lost, and
//     the error shows the last lines the driver logged (the panic and its
//     trace, for a panic). Either way the next call starts a fresh process.
//   - A plugin whose claude-bottle died (killed, SIGPIPE) exits within a
//     second, removing its TMPDIR.
//
// # Versions
//
// ProtocolVersion is the version of the wire protocol between
// claude-bottle and a plugin; the handshake negotiates it, and
// claude-bottle refuses a plugin speaking none of its versions (naming the
// ones it speaks). It changes only when a change would break an older
// peer. SDKVersion is the version of this package's API and behaviour, in
// the plugin's self-description (`claude-bottle-driver-NAME describe`); a
// newer SDK of the same protocol needs no newer claude-bottle.
//
// # Configuration
//
// cfg, given to New, is what the user chose for every driver:
// BuildKitAddr and BuildKitTLS (a BuildKit daemon), DockerHost (the Docker
// engine images load into; give it to a CLI as DOCKER_HOST), DockerBin
// (the docker CLI the user chose with --docker-bin, for drivers that run
// docker; empty means docker on PATH), and Opts, the user's --driver-opt
// KEY=VALUE pairs (refuse unknown keys with driver.ErrInvalidRequest).
//
// # A driver in a module of its own
//
// A driver's go.mod requires github.com/claude-bottle/claude-bottle: a
// released version, or a pseudo-version of a commit (go get
// github.com/claude-bottle/claude-bottle@COMMIT), or, to build against a
// checkout, v0.0.0 with a replace directive pointing at it, as
// plugins/examples/buildah/go.mod does. Its go line must name at least the
// Go version claude-bottle's go.mod names. Commit the go.sum that go mod
// tidy writes. A driver imports only package driver and the packages
// under plugins/sdk; the rest of claude-bottle is not for plugins.
package sdk
