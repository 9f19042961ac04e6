package allow

import "net/netip"

// Class is what kind of destination an address is.
type Class int

// Classes of address, from the most to the least reachable.
const (
	// Public addresses are reachable with any rule that lists the host.
	Public Class = iota
	// Private addresses (loopback, RFC 1918, shared address space, unique
	// local IPv6) are reachable only through an explicit host:port rule:
	// they hold the host's own services and the engine's bridge.
	Private
	// Never addresses are never reachable: link-local (where the cloud
	// metadata services live), unspecified, multicast and broadcast.
	Never
)

var (
	neverPrefixes = mustPrefixes(
		"0.0.0.0/8",          // "this network": 0.0.0.0 reaches the host itself
		"169.254.0.0/16",     // link-local: cloud metadata (169.254.169.254)
		"100.100.100.200/32", // Alibaba Cloud metadata
		"224.0.0.0/4",        // multicast
		"240.0.0.0/4",        // reserved, and broadcast
		"fe80::/10",          // link-local
		"fd00:ec2::254/128",  // AWS metadata over IPv6
		"ff00::/8",           // multicast
		"::/128",
	)
	privatePrefixes = mustPrefixes(
		"127.0.0.0/8",
		"10.0.0.0/8",
		"172.16.0.0/12", // the engine's default bridges live here
		"192.168.0.0/16",
		"100.64.0.0/10", // shared address space (carrier NAT, some clouds)
		"192.0.0.0/24",
		"198.18.0.0/15",
		"::1/128",
		"fc00::/7",
		"fec0::/10",
	)
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Classify says whether an address is public, private or never
// reachable. IPv4 addresses mapped into IPv6 (::ffff:a.b.c.d) and embedded
// in the NAT64 prefix are classed as the IPv4 address they carry.
func Classify(a netip.Addr) Class {
	a = a.Unmap().WithZone("")
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !a.IsValid() {
		return Never
	}
	for _, p := range neverPrefixes {
		if p.Contains(a) {
			return Never
		}
	}
	for _, p := range privatePrefixes {
		if p.Contains(a) {
			return Private
		}
	}
	return Public
}
