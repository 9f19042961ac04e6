package inbottle

import (
	"encoding/json"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// Claude Code reads its managed (administrator) configuration on Linux
// from /etc/claude-code/, and it takes precedence over user and project
// settings; mounted read-only, the agent cannot change it. Confirmed in
// Claude Code's documentation:
//
//   - code.claude.com/docs/en/managed-mcp, "Deploy managed-mcp.json": the
//     file is /etc/claude-code/managed-mcp.json on Linux and WSL and "uses
//     the same format as a project .mcp.json file" ({"mcpServers": {NAME:
//     {"type": "stdio", "command", "args", "env"}}}). Deployed, it takes
//     exclusive control: Claude Code loads only the servers it lists, so a
//     bottle's agent gets exactly this one.
//   - code.claude.com/docs/en/mcp: "Set a per-server tool execution
//     timeout by adding a timeout field in milliseconds to that server's
//     .mcp.json entry"; it is a hard wall-clock limit per call and also
//     the floor of the idle timeout, so it is set past the longest wait.
//   - code.claude.com/docs/en/settings: managed policy settings live in
//     /etc/claude-code/managed-settings.json on Linux and WSL.
//   - code.claude.com/docs/en/hooks: {"hooks": {EVENT: [{"matcher": TOOL,
//     "hooks": [{"type": "command", "command": CMD, "timeout": SECONDS}]}]}};
//     PostToolUseFailure runs after a tool call fails and matches on the
//     tool name; managed hooks cannot be disabled from user settings.

// Names of the managed files in bottleapi.ManagedDir.
const (
	ManagedMCPFile      = "managed-mcp.json"
	ManagedSettingsFile = "managed-settings.json"
)

// ManagedOptions shape the managed configuration.
type ManagedOptions struct {
	// Binary is claude-bottle's path in the bottle (default
	// bottleapi.BinaryPath).
	Binary string
	// Wait is how long request_capability waits for a decision (default
	// bottleapi.DefaultWait); it is passed to `claude-bottle mcp --wait`.
	Wait time.Duration
}

// hookTimeoutSeconds is the hook's limit in Claude Code; the hook gives up
// on the socket well before (hookTimeout).
const hookTimeoutSeconds = 10

// ManagedFiles renders managed-mcp.json (the claude-bottle MCP server) and
// managed-settings.json (the PostToolUseFailure hook on Bash failures),
// file name -> content, for the host to write into the bottle's run folder
// and mount read-only at bottleapi.ManagedDir.
func ManagedFiles(o ManagedOptions) (map[string][]byte, error) {
	if o.Binary == "" {
		o.Binary = bottleapi.BinaryPath
	}
	if o.Wait <= 0 {
		o.Wait = bottleapi.DefaultWait
	}
	mcpConf := map[string]any{"mcpServers": map[string]any{
		MCPServerName: map[string]any{
			"type":    "stdio",
			"command": o.Binary,
			"args":    []string{"mcp", "--wait", o.Wait.String()},
			"timeout": (o.Wait + buildGrace + time.Minute).Milliseconds(),
		},
	}}
	settings := map[string]any{"hooks": map[string]any{
		"PostToolUseFailure": []any{map[string]any{
			"matcher": "Bash",
			"hooks": []any{map[string]any{
				"type":    "command",
				"command": o.Binary + " hook",
				"timeout": hookTimeoutSeconds,
			}},
		}},
	}}
	out := map[string][]byte{}
	for name, v := range map[string]any{ManagedMCPFile: mcpConf, ManagedSettingsFile: settings} {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, err
		}
		out[name] = append(data, '\n')
	}
	return out, nil
}
