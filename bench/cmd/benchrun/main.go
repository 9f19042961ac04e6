// Command benchrun runs claude-bottle's side-by-side benchmarks; bench/run
// (make bench) calls it. See bench/README.md.
package main

import (
	"os"

	"github.com/claude-bottle/claude-bottle/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr)) }
