package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

// Resolver looks host names up; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy decides where one bottle may connect. It is read on every
// connection: Dynamic is called each time, so a rule added while the
// bottle runs applies to its next connection.
type Policy struct {
	// Static are the rules fixed for the bottle's run: allow.DefaultRules and
	// config [egress] allow.
	Static []allow.Rule
	// Dynamic returns the rules that may change while the bottle runs
	// (its approved egress capabilities); nil means none. An error refuses
	// the connection.
	Dynamic func() ([]allow.Rule, error)
	// Resolver looks names up; nil means net.DefaultResolver.
	Resolver Resolver
}

// Decision is an allowed destination: the addresses to dial, every one
// checked.
type Decision struct {
	Host  string
	Port  int
	Rule  allow.Rule
	Addrs []netip.Addr
}

// Refusal is a destination the policy refuses, with the reason.
type Refusal struct {
	Host string
	Port int
	// Reason says why, on one line, for the agent.
	Reason string
	// Askable is true when asking for egress could help: the host is not
	// listed. It is false for addresses that are never reachable.
	Askable bool
}

// Error returns the one-line reason.
func (r *Refusal) Error() string { return r.Reason }

// Target renders the refused destination as host:port.
func (r *Refusal) Target() string { return allow.Rule{Host: r.Host, Port: r.Port}.String() }

// Rules returns every rule in force now: Static, then Dynamic's.
func (p *Policy) Rules() ([]allow.Rule, error) {
	rules := append([]allow.Rule(nil), p.Static...)
	if p.Dynamic != nil {
		more, err := p.Dynamic()
		if err != nil {
			return nil, err
		}
		rules = append(rules, more...)
	}
	return rules, nil
}

// Check decides one destination: is host:port listed, and which of the
// addresses it resolves to may be dialed. Addresses are checked, not only
// names, so a listed name that resolves to a metadata or private address
// (DNS rebinding) is refused. A *Refusal is returned for what the policy
// refuses; other errors are failures (the lookup, the dynamic rules).
func (p *Policy) Check(ctx context.Context, host string, port int) (Decision, error) {
	h, err := allow.NormalizeHost(host)
	if err != nil {
		return Decision{}, &Refusal{Host: clip(host), Port: port, Reason: err.Error()}
	}
	if port < 1 || port > 65535 {
		return Decision{}, &Refusal{Host: h, Port: port, Reason: fmt.Sprintf("port %d is not a port", port)}
	}
	if a, err := netip.ParseAddr(h); err == nil && allow.Classify(a) == allow.Never {
		return Decision{}, &Refusal{Host: h, Port: port,
			Reason: fmt.Sprintf("%s is a link-local, metadata or other address no bottle may reach", h)}
	}
	rules, err := p.Rules()
	if err != nil {
		return Decision{}, fmt.Errorf("reading the bottle's egress rules: %w", err)
	}
	rule, ok := match(rules, h, port)
	target := allow.Rule{Host: h, Port: port}.String()
	if !ok {
		return Decision{}, &Refusal{Host: h, Port: port, Askable: true,
			Reason: fmt.Sprintf("%s is not on this bottle's egress allowlist", target)}
	}
	addrs, err := p.resolve(ctx, h)
	var ref *Refusal
	if errors.As(err, &ref) {
		ref.Port = port
	}
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Host: h, Port: port, Rule: rule}
	private := false
	for _, a := range addrs {
		switch allow.Classify(a) {
		case allow.Public:
			d.Addrs = append(d.Addrs, a)
		case allow.Private:
			if rule.Explicit() {
				d.Addrs = append(d.Addrs, a)
			} else {
				private = true
			}
		}
	}
	switch {
	case len(d.Addrs) > 0:
		return d, nil
	case private:
		return Decision{}, &Refusal{Host: h, Port: port, Askable: true,
			Reason: fmt.Sprintf("%s resolves to a private or loopback address, reachable only when %s is listed with its port", h, target)}
	}
	return Decision{}, &Refusal{Host: h, Port: port,
		Reason: fmt.Sprintf("%s resolves only to link-local, metadata or other addresses no bottle may reach", h)}
}

func match(rules []allow.Rule, host string, port int) (allow.Rule, bool) {
	// An explicit rule wins: it is the one that may open private addresses.
	found, ok := allow.Rule{}, false
	for _, r := range rules {
		if r.Allows(host, port) {
			if r.Explicit() {
				return r, true
			}
			found, ok = r, true
		}
	}
	return found, ok
}

func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	var r Resolver = net.DefaultResolver
	if p.Resolver != nil {
		r = p.Resolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, &Refusal{Host: host, Reason: fmt.Sprintf("%s: no such host", host)}
	}
	if err != nil {
		return nil, fmt.Errorf("looking up %s: %w", host, err)
	}
	return addrs, nil
}

// clip shortens a refused value for an error line and makes it printable.
func clip(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
