package egress

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

// fakeDNS answers from a map; a missing name is "no such host".
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestPolicyCheck(t *testing.T) {
	var cases []struct {
		Name, Host, Want string
		Port             int
		Rules, Addrs     []string
		DNS              fakeDNS
		Askable          bool
	}
	readJSON(t, "policy.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			rules, err := allow.ParseRules("test", c.Rules)
			if err != nil {
				t.Fatal(err)
			}
			p := &Policy{Static: allow.DefaultRules, Dynamic: func() ([]allow.Rule, error) { return rules, nil }, Resolver: c.DNS}
			d, err := p.Check(context.Background(), c.Host, c.Port)
			var ref *Refusal
			switch c.Want {
			case "allow":
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if c.Addrs != nil {
					var got []string
					for _, a := range d.Addrs {
						got = append(got, a.String())
					}
					if !slices.Equal(got, c.Addrs) {
						t.Errorf("addresses %v, want %v", got, c.Addrs)
					}
				}
			case "refuse":
				if !errors.As(err, &ref) {
					t.Fatalf("got %v, %v; want a refusal", d, err)
				}
				if ref.Askable != c.Askable {
					t.Errorf("askable %v, want %v (%s)", ref.Askable, c.Askable, ref.Reason)
				}
			default:
				t.Fatalf("bad case want %q", c.Want)
			}
		})
	}
}

func TestPolicyDynamicIsReadPerCheck(t *testing.T) {
	var rules []allow.Rule
	p := &Policy{Dynamic: func() ([]allow.Rule, error) { return rules, nil }}
	if _, err := p.Check(context.Background(), "127.0.0.1", 9); err == nil {
		t.Fatal("allowed before the rule exists")
	}
	rules = []allow.Rule{{Host: "127.0.0.1", Port: 9}}
	if _, err := p.Check(context.Background(), "127.0.0.1", 9); err != nil {
		t.Fatalf("refused after the rule was added: %v", err)
	}
	boom := errors.New("boom")
	p.Dynamic = func() ([]allow.Rule, error) { return nil, boom }
	if _, err := p.Check(context.Background(), "127.0.0.1", 9); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the rules' error", err)
	}
}
