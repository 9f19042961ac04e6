package main

import (
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/plugins"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

// newDriverServeCmd is the hidden command by which claude-bottle serves its
// own built-in drivers: the plugin manager starts `claude-bottle
// __driver-serve NAME` exactly as it starts a third-party plugin, so every
// driver runs in its own process behind the same protocol.
func newDriverServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    plugins.BuiltinArg + " NAME",
		Short:  "Serve a built-in build driver to claude-bottle (internal; claude-bottle runs it)",
		Hidden: true,
		Args:   exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sdk.ServeBuiltin(args[0])
		},
	}
}
