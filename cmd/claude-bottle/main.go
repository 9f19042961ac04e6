// Command claude-bottle runs coding agents in per-agent Docker containers
// ("bottles") and builds their images through pluggable drivers.
//
// This package holds flags, output and wiring only: a bottle's plan and
// names are decided in package bottle, Dockerfiles are checked in package
// dockerfile, progress is rendered by package progress, and the launch
// sequence runs in package launch. Commands are listed in app.go;
// helpers shared by several commands are in args.go, format.go,
// preflight.go, progress.go, reqflags.go and settings.go.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], newStdio()))
}
