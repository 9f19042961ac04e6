package allow

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrBadRule classes an allowlist entry that cannot be read.
var ErrBadRule = errors.New("bad egress rule")

// Rule is one allowlist entry: a host, and the port it may be reached on.
type Rule struct {
	// Host is a lowercase host name or an IP address (unbracketed).
	Host string
	// Port is the one port allowed; 0 means the web ports, 80 and 443.
	// A rule with a port is explicit: only an explicit rule lets a name
	// or address reach a private or loopback address.
	Port int
}

// WebPorts are the ports a rule without a port allows.
var WebPorts = []int{80, 443}

// DefaultRules are what every bottle may reach: the Anthropic API, and
// what Claude Code's login by OAuth and its WebFetch safety check call.
// Telemetry and error reporting (statsig.anthropic.com, sentry.io) are not
// in it: the bottle turns them off instead.
var DefaultRules = []Rule{
	{Host: "api.anthropic.com", Port: 443},
	{Host: "claude.ai", Port: 443},
	{Host: "platform.claude.com", Port: 443},
}

// Explicit reports whether the rule names its port.
func (r Rule) Explicit() bool { return r.Port != 0 }

// String renders the rule as it is written: host, or host:port (an IPv6
// address bracketed).
func (r Rule) String() string {
	if r.Port == 0 {
		return r.Host
	}
	return net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
}

// Allows reports whether the rule lets host:port through (host already
// normalised by NormalizeHost).
func (r Rule) Allows(host string, port int) bool {
	if r.Host != host {
		return false
	}
	if r.Port == 0 {
		return slices.Contains(WebPorts, port)
	}
	return r.Port == port
}

// labelPattern is one label of a host name.
var labelPattern = regexp.MustCompile(`^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$`)

// NormalizeHost lowercases a host, drops a trailing dot and IPv6
// brackets, and checks it is a host name or an IP address.
func NormalizeHost(h string) (string, error) {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return "", fmt.Errorf("%w: host %q: an address with a zone is not reachable through the proxy", ErrBadRule, clip(h))
		}
		return a.Unmap().String(), nil
	}
	if h == "" || len(h) > 253 {
		return "", fmt.Errorf("%w: host %q: want a host name of 1 to 253 characters or an IP address", ErrBadRule, clip(h))
	}
	for _, l := range strings.Split(h, ".") {
		if !labelPattern.MatchString(l) {
			return "", fmt.Errorf("%w: host %q: want a host name like \"pypi.org\" or an IP address", ErrBadRule, clip(h))
		}
	}
	return h, nil
}

// ParseRule reads an allowlist entry: "host", "host:port", an IP address,
// or "[v6]:port".
func ParseRule(s string) (Rule, error) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		h, p, err := net.SplitHostPort(s)
		if err != nil && strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			h, p, err = s, "", nil
		}
		if err != nil {
			return Rule{}, fmt.Errorf("%w: %q: want host or host:port, like \"pypi.org\" or \"127.0.0.1:8080\"", ErrBadRule, clip(s))
		}
		host, port = h, p
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Host: h}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Rule{}, fmt.Errorf("%w: %q: want host or host:port with a port from 1 to 65535, like \"example.com:8443\"", ErrBadRule, clip(s))
		}
		r.Port = n
	}
	return r, nil
}

// ParseRules reads a list of entries; what is the first bad one's source,
// for the error ("config [egress] allow").
func ParseRules(what string, entries []string) ([]Rule, error) {
	out := make([]Rule, 0, len(entries))
	for _, e := range entries {
		r, err := ParseRule(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, r)
	}
	return out, nil
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
