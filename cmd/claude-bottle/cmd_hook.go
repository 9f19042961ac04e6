package main

import (
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/inbottle"
)

func newHookCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "hook",
		Short: "In a bottle: Claude Code's PostToolUseFailure hook; records missing capabilities as suggestions",
		Long: "Run inside a bottle by Claude Code (see /etc/claude-code/managed-settings.json) with the\n" +
			"hook's JSON on stdin. A failure that looks like a missing capability (exit 127, command\n" +
			"not found, a package manager refused without root) is recorded as a suggestion for the\n" +
			"operator. It never blocks the agent and always exits 0; problems go to stderr.",
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := inbottle.NewClient("")
			defer c.Close()
			inbottle.RunHook(cmd.Context(), c, a.io.in, a.io.out, a.io.err)
			return nil
		},
	}
}
