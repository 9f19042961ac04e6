package plugins

import (
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestPluginEnvAllowlist(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "DOCKER_HOST=unix:///x.sock", "BUILDKIT_HOST=tcp://b:1234",
		"SSL_CERT_FILE=/ca.pem", "https_proxy=http://p:3128",
		"ANTHROPIC_API_KEY=sk-leak", "GITHUB_TOKEN=ghp_leak", "AWS_SECRET_ACCESS_KEY=leak", "SSH_AUTH_SOCK=/agent",
		"CLAUDE_BOTTLE_SECRET_0=leak", "NOEQUALS",
	}
	got := PluginEnv(parent)
	want := []string{"BUILDKIT_HOST=tcp://b:1234", "DOCKER_HOST=unix:///x.sock", "HOME=/root", "LANG=C.UTF-8",
		"PATH=/usr/bin", "SSL_CERT_FILE=/ca.pem", "https_proxy=http://p:3128"}
	if !slices.Equal(got, want) {
		t.Errorf("PluginEnv = %q\nwant %q", got, want)
	}
}

// TestPluginSeesNoSecretVariables runs a real plugin process and reads
// back its environment: the host's API keys never reach it.
func TestPluginSeesNoSecretVariables(t *testing.T) {
	ctx := testCtx(t)
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-leak")
	t.Setenv("GITHUB_TOKEN", "ghp_leak")
	t.Setenv("DOCKER_CONFIG", "/nonexistent/docker-config")
	m := newTestManager(t, Options{})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Build(ctx, echoRequest(t, map[string]string{"environ": "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := res.Metadata["environ"]
	for _, leak := range []string{"ANTHROPIC_API_KEY", "GITHUB_TOKEN", "sk-ant-leak", "ghp_leak"} {
		if strings.Contains(env, leak) {
			t.Errorf("the plugin's environment holds %s:\n%s", leak, env)
		}
	}
	for _, kept := range []string{"DOCKER_CONFIG=/nonexistent/docker-config", "PLUGIN_PROTOCOL_VERSIONS=", "TMPDIR="} {
		if !strings.Contains(env, kept) {
			t.Errorf("the plugin's environment lacks %s:\n%s", kept, env)
		}
	}
}

func TestSSHDefaultNamedByHost(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "/run/agent.sock")
	req := withSSHDefault(driver.Request{SSH: []driver.SSHSpec{{ID: "default"}, {ID: "k", Paths: []string{"/key"}}}})
	if got := req.SSH[0].Paths; !slices.Equal(got, []string{"/run/agent.sock"}) {
		t.Errorf("default spec paths = %q", got)
	}
	if got := req.SSH[1].Paths; !slices.Equal(got, []string{"/key"}) {
		t.Errorf("named spec paths = %q", got)
	}
}
