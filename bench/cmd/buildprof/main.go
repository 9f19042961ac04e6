// Command buildprof profiles one bench workload's builds in-process (CPU
// and peak heap) against a fresh standalone buildkitd; see bench/README.md.
package main

import (
	"os"

	"github.com/claude-bottle/claude-bottle/bench"
)

func main() { os.Exit(bench.Profile(os.Args[1:], os.Stdout, os.Stderr)) }
