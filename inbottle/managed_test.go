package inbottle

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestManagedFiles compares the rendered managed configuration with the
// golden files, checked by hand against Claude Code's documentation (see
// managed.go).
func TestManagedFiles(t *testing.T) {
	files, err := ManagedFiles(ManagedOptions{Wait: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for name, data := range files {
		golden := filepath.Join("testdata", name)
		if *update {
			os.WriteFile(golden, data, 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(want) {
			t.Errorf("%s:\n%s\nwant\n%s", name, data, want)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Errorf("%s is not JSON: %v", name, err)
		}
	}
	// The MCP server's per-call timeout outlasts the longest wait.
	var conf struct {
		MCPServers map[string]struct {
			Args    []string `json:"args"`
			Timeout int64    `json:"timeout"`
		} `json:"mcpServers"`
	}
	json.Unmarshal(files[ManagedMCPFile], &conf)
	if s := conf.MCPServers[MCPServerName]; s.Timeout <= (30*time.Minute).Milliseconds() || strings.Join(s.Args, " ") != "mcp --wait 30m0s" {
		t.Errorf("server %+v", s)
	}
}

// TestInBottleImportsOnlyTheProtocol keeps the in-bottle side away from the
// engine client, host state and everything host-side.
func TestInBottleImportsOnlyTheProtocol(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/claude-bottle/claude-bottle/") && !strings.HasSuffix(dep, "/bottleapi") && !strings.HasSuffix(dep, "/inbottle") {
			t.Errorf("inbottle depends on %s", dep)
		}
		for _, host := range []string{"github.com/moby/", "github.com/docker/", "github.com/moby/buildkit"} {
			if strings.HasPrefix(dep, host) {
				t.Errorf("inbottle depends on %s", dep)
			}
		}
	}
}
