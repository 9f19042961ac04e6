package capability

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// Spec is a capability as an operator or a request asks for it: commands
// to run, packages to install with the base's package manager, or hosts
// to reach. Exactly one of the three is set.
type Spec struct {
	Run      []string
	Packages []string
	Hosts    []string
}

// Compose makes the capability name of spec for the bottle of plan p: RUN
// lines for Run, the base's package manager's install for Packages (an
// error naming the base when it cannot tell which), or an egress
// capability for Hosts. The caller fills Reason, User, the approver and
// the source; Add checks the rest.
func Compose(store *state.Store, p *bottle.Plan, name string, s Spec) (Capability, error) {
	c := Capability{Name: name, Kind: KindLayer}
	if err := ValidateName(name); err != nil {
		return c, err
	}
	var err error
	switch n := btoi(len(s.Run) > 0) + btoi(len(s.Packages) > 0) + btoi(len(s.Hosts) > 0); {
	case n != 1:
		return c, fmt.Errorf("%w: capability %q needs exactly one of commands to run, packages or hosts", ErrInvalid, name)
	case len(s.Run) > 0:
		c.Instructions, err = RunInstructions(s.Run)
	case len(s.Packages) > 0:
		c.Instructions, _, _, err = PackageInstructions(store, p, s.Packages)
	default:
		c.Kind = KindEgress
		c.Instructions, err = hostList(s.Hosts)
	}
	return c, err
}

// hostPattern is a host name, an IPv4 address or a bracketed IPv6
// address, with an optional port.
var hostPattern = regexp.MustCompile(`^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::[0-9]{1,5})?$`)

// hostList checks egress hosts and joins them as an egress capability
// keeps them.
func hostList(hosts []string) (string, error) {
	for _, h := range hosts {
		if !hostPattern.MatchString(h) {
			return "", fmt.Errorf("%w: host %q: want a host name or address, optionally :port, like \"pypi.org:443\"", ErrInvalid, truncate(h, 60))
		}
	}
	return strings.Join(hosts, " "), nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
