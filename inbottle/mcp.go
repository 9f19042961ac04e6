package inbottle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// MCPServerName is the server's name in Claude Code's configuration: its
// tools appear as mcp__claude-bottle__<tool>.
const MCPServerName = "claude-bottle"

// Tool names.
const (
	ToolRequestCapability = "request_capability"
	ToolBottleStatus      = "bottle_status"
	// ToolRequestEgress asks for network access to hosts through the
	// bottle's proxy and waits the same way.
	ToolRequestEgress = "request_egress"
)

// MCPOptions configure the MCP server.
type MCPOptions struct {
	Client *Client
	// Wait is how long request_capability waits for a decision.
	Wait time.Duration
	// Version is claude-bottle's version, told to the client.
	Version string
	// Progress is how often a waiting call tells the client it is still
	// waiting, when the client asked for progress (default 30 s).
	Progress time.Duration
}

// CapabilityArgs are request_capability's arguments.
type CapabilityArgs struct {
	Name     string   `json:"name" jsonschema:"a short name for the capability: lowercase letters, digits and . _ -, like jq or python-dev"`
	Run      []string `json:"run,omitempty" jsonschema:"shell commands run as root when the image is built, one RUN line each (give run or packages)"`
	Packages []string `json:"packages,omitempty" jsonschema:"packages for the image's package manager, like jq or curl=7.88.1-10 (give run or packages)"`
	Reason   string   `json:"reason" jsonschema:"one line telling the operator why you need it"`
}

// CapabilityResult is request_capability's structured answer.
type CapabilityResult struct {
	Result     Result          `json:"result" jsonschema:"approved, failed (approved but the build failed), denied or timed_out"`
	ID         string          `json:"id"`
	State      bottleapi.State `json:"state"`
	Edited     string          `json:"edited,omitempty" jsonschema:"what the operator changed, if anything"`
	DenyReason string          `json:"deny_reason,omitempty"`
	Error      string          `json:"error,omitempty" jsonschema:"the first lines of a failed build"`
	Next       string          `json:"next" jsonschema:"what happens now"`
}

// EgressArgs are request_egress's arguments.
type EgressArgs struct {
	Hosts  []string `json:"hosts" jsonschema:"hosts to reach, each host or host:port, like pypi.org or example.com:8443; a host alone means ports 80 and 443"`
	Reason string   `json:"reason" jsonschema:"one line telling the operator why you need it"`
}

// NewMCPServer returns the MCP server the agent in a bottle talks to.
func NewMCPServer(o MCPOptions) *mcp.Server {
	if o.Wait <= 0 {
		o.Wait = bottleapi.DefaultWait
	}
	if o.Progress <= 0 {
		o.Progress = 30 * time.Second
	}
	s := mcp.NewServer(&mcp.Implementation{Name: MCPServerName, Version: o.Version}, &mcp.ServerOptions{
		Instructions: "You run in a claude-bottle: a container whose image the operator controls. " +
			"When you lack a tool, a package or a permission, ask for it with request_capability " +
			"instead of working around it, and for a host its proxy refuses, ask with request_egress; bottle_status shows what the bottle has and what waits for a decision.",
	})
	t := &tools{o: o}
	mcp.AddTool(s, &mcp.Tool{
		Name: ToolRequestCapability,
		Description: fmt.Sprintf("Ask the operator to add a capability to this bottle's image: packages, or "+
			"shell commands run as root at build time. Waits for the decision (up to %s) and says whether it was "+
			"approved (possibly with edits), denied (with the operator's reason) or timed out, and what happens "+
			"next. On approval the bottle restarts on the new image and your session resumes.", o.Wait),
	}, t.requestCapability)
	mcp.AddTool(s, &mcp.Tool{
		Name:        ToolBottleStatus,
		Description: "Show this bottle's image, the capabilities it has, and the requests waiting for the operator.",
	}, t.bottleStatus)
	mcp.AddTool(s, &mcp.Tool{
		Name: ToolRequestEgress,
		Description: fmt.Sprintf("Ask the operator to let this bottle reach hosts on the network. The bottle reaches "+
			"nothing but its allowlist: other connections are refused by its proxy with a 403 naming this tool. "+
			"Waits for the decision (up to %s) and says whether it was approved, denied (with the operator's "+
			"reason) or timed out. On approval the hosts are reachable at once; nothing restarts.", o.Wait),
	}, t.requestEgress)
	return s
}

// ServeMCP serves the MCP server on t (stdio in a bottle) until the client
// goes or ctx ends.
func ServeMCP(ctx context.Context, o MCPOptions, t mcp.Transport) error {
	err := NewMCPServer(o).Run(ctx, t)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

type tools struct{ o MCPOptions }

func (t *tools) requestCapability(ctx context.Context, req *mcp.CallToolRequest, args CapabilityArgs) (*mcp.CallToolResult, CapabilityResult, error) {
	stop := t.keepAlive(ctx, req, "waiting for the operator to decide on "+args.Name)
	defer stop()
	wctx, cancel := context.WithTimeout(ctx, t.o.Wait+buildGrace)
	defer cancel()
	out, err := RequestCapability(wctx, t.o.Client, CapabilityInput{
		Name: args.Name, Run: args.Run, Packages: args.Packages, Reason: args.Reason, Wait: t.o.Wait,
	})
	if err != nil && out.Request.ID == "" {
		// Refused or unreachable: a tool error the model can read and fix.
		return nil, CapabilityResult{}, err
	}
	res := CapabilityResult{
		Result: out.Result, ID: out.Request.ID, State: out.Request.State,
		DenyReason: out.Request.DenyReason, Error: out.Request.Error, Next: out.Request.Next,
	}
	if out.Request.Edited != nil {
		res.Edited = out.Request.Edited.Summary
	}
	text := out.Text()
	if err != nil {
		text += "\n(stopped waiting: " + err.Error() + ")"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, res, nil
}

func (t *tools) requestEgress(ctx context.Context, req *mcp.CallToolRequest, args EgressArgs) (*mcp.CallToolResult, CapabilityResult, error) {
	stop := t.keepAlive(ctx, req, "waiting for the operator to decide on egress to "+strings.Join(args.Hosts, ", "))
	defer stop()
	wctx, cancel := context.WithTimeout(ctx, t.o.Wait+buildGrace)
	defer cancel()
	out, err := RequestEgress(wctx, t.o.Client, EgressInput{Hosts: args.Hosts, Reason: args.Reason, Wait: t.o.Wait})
	if err != nil && out.Request.ID == "" {
		return nil, CapabilityResult{}, err
	}
	res := CapabilityResult{
		Result: out.Result, ID: out.Request.ID, State: out.Request.State,
		DenyReason: out.Request.DenyReason, Error: out.Request.Error, Next: out.Request.Next,
	}
	text := out.Text()
	if err != nil {
		text += "\n(stopped waiting: " + err.Error() + ")"
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, res, nil
}

// buildGrace is how long an approved request's build may run past the
// wait before the tool call gives up on it (the build goes on).
const buildGrace = 30 * time.Minute

func (t *tools) bottleStatus(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, bottleapi.Status, error) {
	st, err := t.o.Client.Status(ctx)
	if err != nil {
		return nil, bottleapi.Status{}, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: StatusText(st)}}}, st, nil
}

// StatusText words a bottle's status for the agent.
func StatusText(st bottleapi.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Bottle %s runs image %s.\n", st.Slug, orNone(st.Image))
	if len(st.Capabilities) == 0 {
		b.WriteString("Capabilities: none beyond the base image.\n")
	} else {
		b.WriteString("Capabilities:\n")
		for _, c := range st.Capabilities {
			fmt.Fprintf(&b, "- %s (%s)%s\n", c.Name, c.Kind, prefixed(": ", c.Reason))
		}
	}
	if len(st.Pending) == 0 {
		b.WriteString("Waiting for the operator: nothing.")
	} else {
		b.WriteString("Waiting for the operator:")
		for _, r := range st.Pending {
			fmt.Fprintf(&b, "\n- %s %s %q (%s)%s", r.ID, r.Kind, r.Name, r.State, prefixed(": ", r.Reason))
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// keepAlive tells the client every o.Progress that the call still waits,
// when the client gave a progress token, so an idle timer does not cut a
// long wait. The returned function stops it.
func (t *tools) keepAlive(ctx context.Context, req *mcp.CallToolRequest, msg string) func() {
	token := req.Params.GetProgressToken()
	if token == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tick := time.NewTicker(t.o.Progress)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Message: msg, Progress: float64(n)})
			}
		}
	}()
	return cancel
}
