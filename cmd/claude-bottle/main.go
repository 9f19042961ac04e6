// Command claude-bottle runs coding agents in per-agent Docker containers
// ("bottles") and builds their images through pluggable drivers.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], newStdio()))
}
