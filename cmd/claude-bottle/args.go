package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Helpers every command uses to check its arguments: a wrong count or an
// unknown subcommand is bad usage (exit 2) with a message that says what
// the command takes.

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr(fmt.Errorf("%s takes %s (got %d arguments); see `%s --help`", cmd.Name(), names, len(args), cmd.CommandPath()))
		}
		return nil
	}
}

// groupCommand makes a command that only groups subcommands refuse an
// unknown subcommand as bad usage (exit 2) instead of printing help.
func groupCommand(cmd *cobra.Command) {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErr(fmt.Errorf("unknown command %q for %q; run `%s --help`", args[0], cmd.CommandPath(), cmd.CommandPath()))
		}
		return cmd.Help()
	}
}
