package main

import (
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/inbottle"
)

func newMCPCmd(a *app) *cobra.Command {
	var wait string
	cmd := &cobra.Command{
		Use:   "mcp [--wait DURATION]",
		Short: "In a bottle: serve the MCP tools (request_capability, bottle_status) on stdio",
		Long: "Run inside a bottle by Claude Code (see /etc/claude-code/managed-mcp.json): an MCP\n" +
			"server on stdin/stdout whose tools ask the operator for capabilities through the\n" +
			"bottle socket ($CLAUDE_BOTTLE_SOCKET, default /run/claude-bottle/bottle.sock).",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := inbottle.DefaultWait()
			if wait != "" {
				w, err = inbottle.ParseWait(wait)
			}
			if err != nil {
				return usageErr(err)
			}
			c := inbottle.NewClient("")
			defer c.Close()
			return inbottle.ServeMCP(cmd.Context(), inbottle.MCPOptions{Client: c, Wait: w, Version: buildVersion()}, &mcp.StdioTransport{})
		},
	}
	cmd.Flags().StringVar(&wait, "wait", "", "how long request_capability waits for a decision (default $"+inbottle.WaitEnv+" or 30m)")
	return cmd
}
