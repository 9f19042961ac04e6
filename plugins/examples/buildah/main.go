// Command claude-bottle-driver-buildah is an example third-party
// claude-bottle build driver: it builds with buildah (`buildah bud`, vfs
// storage, chroot isolation: no daemon at all) and loads the image into the
// Docker engine with `buildah push IMAGE docker-daemon:TAG`.
//
// It is a Go module of its own, built as an outside driver is (see
// plugins/README.md for what its go.mod needs). Build and install it:
//
//	cd plugins/examples/buildah
//	go build -ldflags "-s -w" -o claude-bottle-driver-buildah .
//	claude-bottle plugin install ./claude-bottle-driver-buildah
//	claude-bottle build --driver buildah ...
//
// Driver options (--driver-opt KEY=VALUE):
//
//	buildah=PATH          the buildah binary (default: buildah on PATH)
//	root=DIR              buildah's storage root (default ~/.cache/claude-bottle-buildah/storage)
//	runroot=DIR           buildah's run root (default ~/.cache/claude-bottle-buildah/run)
//	storage-driver=NAME   containers/storage driver (default vfs, which works anywhere)
//	isolation=KIND        RUN isolation: chroot (default), oci or rootless
//
// It needs buildah (Debian: apt-get install buildah) and, to load images,
// a Docker engine. It runs as root, or rootless where user namespaces are
// set up for buildah.
package main

import (
	"context"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

// version is the plugin's version; -ldflags "-X main.version=..." sets it.
var version = "0.1.0"

// plugin describes the driver to the SDK.
var plugin = sdk.Plugin{
	Name:    "buildah",
	Version: version,
	Usage:   "builds with buildah (no daemon; vfs storage) and loads the image into the Docker engine",
	New: func(_ context.Context, cfg driver.Config) (driver.Builder, error) {
		return newBuilder(cfg)
	},
}

func main() { sdk.Serve(plugin) }
