package egress

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

func TestSetupEnvHoldsNoSecret(t *testing.T) {
	s := Setup{Credentials: Credentials{APIKey: "sk-real-key", AuthToken: "real-token"}}
	env := s.Env()
	for _, kv := range env {
		if strings.Contains(kv, "sk-real-key") || strings.Contains(kv, "real-token") {
			t.Fatalf("the bottle's environment holds a host credential: %q", kv)
		}
	}
	for _, want := range []string{BaseURLEnv + "=http://127.0.0.1:3128/anthropic", TokenEnv + "=" + PlaceholderToken} {
		if !slices.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
	if env := (Setup{}).Env(); slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, BaseURLEnv+"=") }) {
		t.Errorf("without host credentials the bottle still gets a base URL: %q", env)
	}
}

func TestSetupHook(t *testing.T) {
	if _, err := (Setup{Allow: []string{"bad host"}}).Hook(); err == nil {
		t.Fatal("a bad allow entry was accepted")
	}
	st, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		creds   Credentials
		withAPI bool
	}{{Credentials{}, false}, {Credentials{APIKey: "k"}, true}} {
		hook, err := Setup{Allow: []string{"pypi.org"}, Credentials: c.creds}.Hook()
		if err != nil {
			t.Fatal(err)
		}
		o := request.ServerOptions{Store: request.NewStore(st), Slug: testSlug}
		hook(&o)
		if o.Egress == nil || (o.Anthropic != nil) != c.withAPI || o.MaxConns != MaxConns {
			t.Errorf("credentials %v: egress %v, anthropic %v", !c.creds.Empty(), o.Egress != nil, o.Anthropic != nil)
		}
		rules, _ := o.Egress.(*Proxy).Policy.Rules()
		if !slices.Contains(rules, allow.Rule{Host: "pypi.org"}) || !slices.Contains(rules, allow.DefaultRules[0]) {
			t.Errorf("rules %v lack the defaults or the config's", rules)
		}
	}
}
