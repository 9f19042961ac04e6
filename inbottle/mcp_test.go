package inbottle

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
)

// mcpSession connects the official SDK's client to the MCP server over
// in-memory transports; the server talks to a real host socket.
func mcpSession(t *testing.T, h *host, wait time.Duration) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := NewClient(h.socket)
	st, ct := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- ServeMCP(ctx, MCPOptions{Client: c, Wait: wait, Version: "test"}, st) }()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		cancel()
		<-done
		c.Close()
	})
	return cs
}

func callTool(t *testing.T, cs *mcp.ClientSession, name string, args any) (*mcp.CallToolResult, string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text = append(text, tc.Text)
		}
	}
	return res, strings.Join(text, "\n")
}

func structured[T any](t *testing.T, res *mcp.CallToolResult) T {
	t.Helper()
	var v T
	data, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("structured content %s: %v", data, err)
	}
	return v
}

func TestMCPTools(t *testing.T) {
	h := startHost(t, newRoot(t), "demo")
	cs := mcpSession(t, h, time.Minute)
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{ToolBottleStatus, ToolRequestCapability, ToolRequestEgress}) {
		t.Fatalf("tools %v", names)
	}
	res, text := callTool(t, cs, ToolBottleStatus, map[string]any{})
	if res.IsError || !strings.Contains(text, "Bottle demo") || structured[bottleapi.Status](t, res).Slug != "demo" {
		t.Fatalf("bottle_status: %v %s", res.IsError, text)
	}
}

func TestMCPRequestCapabilityOutcomes(t *testing.T) {
	args := map[string]any{"name": "jq", "packages": []string{"jq"}, "reason": "parse JSON"}
	for _, tc := range []struct {
		name    string
		wait    time.Duration
		decide  func(s *request.Store, id string)
		result  Result
		text    []string
		checkSt func(*testing.T, CapabilityResult)
	}{
		{
			name: "denied with the reason",
			wait: time.Minute,
			decide: func(s *request.Store, id string) {
				s.Deny(context.Background(), id, "use python's json module", "alice")
			},
			result: ResultDenied,
			text:   []string{"Denied", "use python's json module", "Do not ask again"},
		},
		{
			name: "approved",
			wait: time.Minute,
			decide: func(s *request.Store, id string) {
				s.Approve(context.Background(), request.ApproveOptions{ID: id, By: "alice", Applier: applier{image: "sha256:abc"}})
			},
			result: ResultApproved,
			text:   []string{"Approved: capability \"jq\"", "restarts on the new image"},
		},
		{
			name: "approved with edits",
			wait: time.Minute,
			decide: func(s *request.Store, id string) {
				s.Approve(context.Background(), request.ApproveOptions{ID: id, By: "alice", Packages: []string{"jq", "gawk"}, Applier: applier{image: "sha256:abc"}})
			},
			result: ResultApproved,
			text:   []string{"Approved with edits", "replaced the packages jq with the packages jq, gawk"},
			checkSt: func(t *testing.T, r CapabilityResult) {
				if !strings.Contains(r.Edited, "gawk") {
					t.Errorf("edited %q", r.Edited)
				}
			},
		},
		{
			name: "a failed build",
			wait: time.Minute,
			decide: func(s *request.Store, id string) {
				s.Approve(context.Background(), request.ApproveOptions{ID: id, Applier: applier{err: errors.New("step 3/4 RUN apt-get install -y jq\nE: Unable to locate package jq")}})
			},
			result: ResultFailed,
			text:   []string{"failed", "Unable to locate package jq", "nothing changed"},
		},
		{
			name:   "timed out",
			wait:   time.Second,
			result: ResultTimedOut,
			text:   []string{"Timed out", "withdrawn"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t, newRoot(t), "demo")
			cs := mcpSession(t, h, tc.wait)
			if tc.decide != nil {
				h.decideWhenAsked(t, "demo", func(id string) { tc.decide(h.store, id) })
			}
			start := time.Now()
			res, text := callTool(t, cs, ToolRequestCapability, args)
			if res.IsError {
				t.Fatalf("tool error: %s", text)
			}
			got := structured[CapabilityResult](t, res)
			if got.Result != tc.result || got.ID == "" || got.Next == "" {
				t.Fatalf("result %+v\n%s", got, text)
			}
			for _, want := range tc.text {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if tc.checkSt != nil {
				tc.checkSt(t, got)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestMCPRefusesBadInputAsAToolError(t *testing.T) {
	h := startHost(t, newRoot(t), "demo")
	cs := mcpSession(t, h, time.Minute)
	for _, args := range []map[string]any{
		{"name": "jq", "packages": []string{"jq; reboot"}, "reason": "r"},
		{"name": "jq", "run": []string{"true\nUSER root"}, "reason": "r"},
		{"name": "Bad Name", "packages": []string{"jq"}, "reason": "r"},
		{"name": "jq", "reason": "r"},
	} {
		res, text := callTool(t, cs, ToolRequestCapability, args)
		if !res.IsError || !strings.Contains(text, "invalid input") {
			t.Errorf("%v: IsError %v, %s", args, res.IsError, text)
		}
	}
	if rs, _ := h.store.List("demo"); len(rs) != 0 {
		t.Errorf("refused input stored %d requests", len(rs))
	}
}

func TestRequestCapabilityExitCodes(t *testing.T) {
	for _, tc := range []struct {
		o    Outcome
		code int
	}{
		{Outcome{Result: ResultApproved}, 0}, {Outcome{Result: ResultDenied}, 3},
		{Outcome{Result: ResultTimedOut}, 4}, {Outcome{Result: ResultFailed}, 1},
	} {
		if got := tc.o.ExitCode(); got != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.o.Result, got, tc.code)
		}
	}
	h := startHost(t, newRoot(t), "demo")
	c := NewClient(h.socket)
	defer c.Close()
	_, err := RequestCapability(context.Background(), c, CapabilityInput{Name: "jq", Packages: []string{"jq"}, Reason: "r", Wait: 500 * time.Millisecond})
	if !errors.Is(err, bottleapi.ErrInvalid) {
		t.Errorf("a wait under a second: %v, want ErrInvalid", err)
	}
	_, err = RequestCapability(context.Background(), NewClient(h.socket+".absent"), CapabilityInput{Name: "jq", Packages: []string{"jq"}, Reason: "r", Wait: time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("no socket: %v, want ErrUnreachable", err)
	}
	t.Setenv(WaitEnv, "forever")
	if _, err := DefaultWait(); !errors.Is(err, bottleapi.ErrInvalid) || !strings.Contains(err.Error(), WaitEnv) {
		t.Errorf("bad $%s: %v", WaitEnv, err)
	}
}
