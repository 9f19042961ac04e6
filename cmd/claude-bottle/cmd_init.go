package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/inbottle"
)

// newInitCmd is the hidden command the engine starts as a bottle's PID 1
// (launch composes its arguments with inbottle.InitOptions.Args). It
// exits with the agent's status itself: whatever signal PID 1 passed on
// to the agent, the bottle's status is the agent's, not 130 or 143.
func newInitCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:                inbottle.InitCommand + " --uid N --gid N [...] -- COMMAND ARGS...",
		Short:              "Run as a bottle's PID 1 (internal; claude-bottle launch starts it)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := inbottle.ParseInitArgs(args)
			if err != nil {
				return usageErr(err)
			}
			// Not cmd.Context(): the first Ctrl-C cancels that, and PID 1
			// passes Ctrl-C on to the agent rather than stopping.
			os.Exit(inbottle.Init(context.Background(), o, a.io.err))
			return nil
		},
	}
}
