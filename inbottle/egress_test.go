package inbottle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
)

func TestMCPRequestEgress(t *testing.T) {
	args := map[string]any{"hosts": []string{"pypi.org", "files.pythonhosted.org:443"}, "reason": "pip install"}
	for _, tc := range []struct {
		name   string
		decide func(s *request.Store, id string)
		result Result
		text   []string
	}{
		{"approved", func(s *request.Store, id string) {
			s.Approve(context.Background(), request.ApproveOptions{ID: id, By: "alice", Applier: applier{}})
		}, ResultApproved, []string{"Approved: egress to pypi.org, files.pythonhosted.org:443", "nothing restarts"}},
		{"denied", func(s *request.Store, id string) {
			s.Deny(context.Background(), id, "use the mirror", "alice")
		}, ResultDenied, []string{"Denied: egress to pypi.org", "use the mirror"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t, newRoot(t), "demo")
			cs := mcpSession(t, h, time.Minute)
			var asked *request.Request
			h.decideWhenAsked(t, "demo", func(id string) {
				asked, _ = h.store.Get("demo", id)
				tc.decide(h.store, id)
			})
			res, text := callTool(t, cs, ToolRequestEgress, args)
			if res.IsError {
				t.Fatalf("tool error: %s", text)
			}
			if got := structured[CapabilityResult](t, res); got.Result != tc.result {
				t.Fatalf("result %+v\n%s", got, text)
			}
			for _, want := range tc.text {
				if !strings.Contains(text, want) {
					t.Errorf("text lacks %q:\n%s", want, text)
				}
			}
			if asked == nil || asked.Kind != bottleapi.KindEgress || asked.Name != "pypi.org" || len(asked.Hosts) != 2 {
				t.Errorf("the host got %+v", asked)
			}
		})
	}
}

func TestRequestEgressRefusesBadHosts(t *testing.T) {
	h := startHost(t, newRoot(t), "demo")
	cs := mcpSession(t, h, time.Minute)
	for _, args := range []map[string]any{
		{"hosts": []string{"http://pypi.org/"}, "reason": "r"},
		{"hosts": []string{"PyPI Org"}, "reason": "r"},
		{"hosts": []string{"pypi.org:99999"}, "reason": "r"},
		{"hosts": []string{}, "reason": "r"},
		{"hosts": []string{"pypi.org"}, "reason": ""},
	} {
		res, text := callTool(t, cs, ToolRequestEgress, args)
		if !res.IsError || !strings.Contains(text, "invalid input") {
			t.Errorf("%v: IsError %v, %s", args, res.IsError, text)
		}
	}
	if rs, _ := h.store.List("demo"); len(rs) != 0 {
		t.Errorf("refused input stored %d requests", len(rs))
	}
}

func TestEgressName(t *testing.T) {
	for in, want := range map[string]string{"pypi.org": "pypi.org", "example.com:8443": "example.com-8443", "10.0.0.1:80": "10.0.0.1-80"} {
		if got := EgressName([]string{in}); got != want || bottleapi.ValidateName(got) != nil {
			t.Errorf("EgressName(%q) = %q, want %q (a valid name)", in, got, want)
		}
	}
}
