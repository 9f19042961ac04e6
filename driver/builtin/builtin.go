// Package builtin registers claude-bottle's built-in build drivers, buildkit
// (driver/buildkit) and docker (driver/dockercli), with package driver's
// registry. A program gets them by importing this package for its side
// effect:
//
//	import _ "github.com/claude-bottle/claude-bottle/driver/builtin"
//
// The CLI does, so that it can serve them to itself as plugins
// (`claude-bottle __driver-serve NAME`) and list them, without naming a
// concrete driver package: which drivers are built in is decided here.
package builtin

import (
	_ "github.com/claude-bottle/claude-bottle/driver/buildkit"  // registers "buildkit"
	_ "github.com/claude-bottle/claude-bottle/driver/dockercli" // registers "docker"
)
