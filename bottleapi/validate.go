package bottleapi

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The agent in a bottle is an adversary: everything it sends is checked
// here, on both sides of the socket, before it is stored, shown to the
// operator or rendered into a Dockerfile.

// ErrInvalid classes every refused input; its message says what was wrong
// and what to send instead, on one line.
var ErrInvalid = errors.New("invalid input")

// Limits on what a bottle may send.
const (
	MaxBodyBytes    = 64 << 10
	MaxNameLen      = 128
	MaxRunCommands  = 16
	MaxRunLen       = 2048
	MaxPackages     = 64
	MaxPackageLen   = 128
	MaxHosts        = 32
	MaxHostLen      = 253
	MaxReasonLen    = 1000
	MaxEvidenceLen  = 2000
	MaxDenyReason   = 1000
	requestIDPrefix = "rq-"
)

var (
	// namePattern is the slug grammar: lowercase letters and digits joined
	// by '.', '_', '__' or runs of '-'. Names end up in image comments,
	// audit lines and file names, so nothing else is allowed.
	namePattern    = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)
	packagePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9+._-]*(?:=[A-Za-z0-9][A-Za-z0-9.+~:_-]*)?$`)
	hostPattern    = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?$`)
	idPattern      = regexp.MustCompile(`^rq-[0-9a-f]{10}$`)
	// heredoc is BuildKit's heredoc marker: in a RUN line it would swallow
	// the lines after it (the USER line that drops root, for one).
	heredoc = regexp.MustCompile(`<<`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ValidateID checks a request ID: "rq-" and 10 lowercase hex digits.
func ValidateID(id string) error {
	if !idPattern.MatchString(id) {
		return invalid("request ID %q is not like rq-0123456789 (rq- and 10 hex digits)", clip(id))
	}
	return nil
}

// ValidateName checks a capability name: the slug rule.
func ValidateName(name string) error {
	switch {
	case name == "":
		return invalid("the name is empty; give a short name like \"jq\" or \"python-dev\"")
	case len(name) > MaxNameLen:
		return invalid("the name is %d characters long; at most %d", len(name), MaxNameLen)
	case !namePattern.MatchString(name):
		return invalid("name %q: use lowercase letters and digits joined by '.', '_', '__' or '-', like \"jq\" or \"python-dev\"", clip(name))
	}
	return nil
}

// ValidateRun checks run commands: 1 to MaxRunCommands, each one line of
// at most MaxRunLen bytes, with no control characters, no line
// continuation and no heredoc.
func ValidateRun(cmds []string) error {
	if len(cmds) == 0 {
		return invalid("no run command; give at least one")
	}
	if len(cmds) > MaxRunCommands {
		return invalid("%d run commands; at most %d (join them with &&)", len(cmds), MaxRunCommands)
	}
	for i, c := range cmds {
		if err := validateRunCommand(c); err != nil {
			return fmt.Errorf("run command %d: %w", i+1, err)
		}
	}
	return nil
}

func validateRunCommand(c string) error {
	t := strings.TrimSpace(c)
	switch {
	case t == "":
		return invalid("it is empty")
	case len(c) > MaxRunLen:
		return invalid("it is %d bytes long; at most %d", len(c), MaxRunLen)
	case t != c:
		return invalid("it starts or ends with white space")
	}
	if err := checkText(c, false); err != nil {
		return err
	}
	switch {
	case strings.HasSuffix(c, `\`):
		return invalid("it ends with a backslash (a line continuation); give one whole command per entry")
	case heredoc.MatchString(c):
		return invalid("it holds \"<<\" (a heredoc); write the file with printf instead")
	}
	return nil
}

// ValidatePackages checks package names: 1 to MaxPackages, each matching
// ^[a-z0-9][a-z0-9+._-]*$ with an optional =VERSION.
func ValidatePackages(pkgs []string) error {
	if len(pkgs) == 0 {
		return invalid("no package; give at least one")
	}
	if len(pkgs) > MaxPackages {
		return invalid("%d packages; at most %d", len(pkgs), MaxPackages)
	}
	for _, p := range pkgs {
		if len(p) > MaxPackageLen || !packagePattern.MatchString(p) {
			return invalid("package %q: a package is lowercase letters, digits and + . _ -, optionally =VERSION, like \"jq\" or \"curl=7.88.1-10\"", clip(p))
		}
	}
	return nil
}

// ValidateHosts checks egress hosts: 1 to MaxHosts, each a lowercase host
// name or IPv4 address with an optional :PORT.
func ValidateHosts(hosts []string) error {
	if len(hosts) == 0 {
		return invalid("no host; give at least one host or host:port")
	}
	if len(hosts) > MaxHosts {
		return invalid("%d hosts; at most %d", len(hosts), MaxHosts)
	}
	for _, h := range hosts {
		if len(h) > MaxHostLen || !hostPattern.MatchString(h) {
			return invalid("host %q: give a lowercase host name with an optional :port, like \"pypi.org\" or \"example.com:8443\"", clip(h))
		}
		name, port, ok := strings.Cut(h, ":")
		if ok {
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				return invalid("host %q: the port must be 1 to 65535", clip(h))
			}
		}
		if err := checkHostName(name); err != nil {
			return err
		}
	}
	return nil
}

// checkHostName refuses a label longer than DNS allows, and an address
// no bottle may ever reach (link-local, where the cloud metadata services
// are; "this network"; multicast and reserved), so nobody is asked to
// approve what the egress proxy would refuse anyway.
func checkHostName(name string) error {
	for _, l := range strings.Split(name, ".") {
		if len(l) > 63 {
			return invalid("host %q: a name's labels are at most 63 characters", clip(name))
		}
	}
	a, err := netip.ParseAddr(name)
	if err != nil || !a.Is4() {
		return nil // a name: the proxy checks what it resolves to
	}
	b := a.As4()
	switch {
	case b[0] == 169 && b[1] == 254, b[0] == 0, b[0] >= 224:
		return invalid("host %q: link-local, metadata, multicast and reserved addresses are never reachable from a bottle", name)
	}
	return nil
}

// ValidateReason checks a reason: one line, 1 to max bytes. A reason is
// shown to the operator and written into the image's comments, so no
// control or direction-changing characters.
func ValidateReason(what, reason string, max int) error {
	switch {
	case strings.TrimSpace(reason) == "":
		return invalid("the %s is empty; say in one line why", what)
	case len(reason) > max:
		return invalid("the %s is %d bytes long; at most %d", what, len(reason), max)
	}
	if err := checkText(reason, false); err != nil {
		return fmt.Errorf("the %s: %w", what, err)
	}
	return nil
}

// Wait returns the requester's overall wait: DefaultWait for 0, else
// WaitSeconds, which must be 1 to MaxWait.
func (c *CreateRequest) Wait() (time.Duration, error) {
	if c.WaitSeconds == 0 {
		return DefaultWait, nil
	}
	if c.WaitSeconds < 0 || time.Duration(c.WaitSeconds)*time.Second > MaxWait {
		return 0, invalid("wait_seconds %d: give 1 to %d", c.WaitSeconds, int(MaxWait/time.Second))
	}
	return time.Duration(c.WaitSeconds) * time.Second, nil
}

// Validate checks everything a request carries.
func (c *CreateRequest) Validate() error {
	if err := ValidateName(c.Name); err != nil {
		return err
	}
	if err := ValidateReason("reason", c.Reason, MaxReasonLen); err != nil {
		return err
	}
	if _, err := c.Wait(); err != nil {
		return err
	}
	switch c.Kind {
	case KindCapability:
		return validateInstructions(c.Run, c.Packages, c.Hosts)
	case KindEgress:
		if len(c.Run) > 0 || len(c.Packages) > 0 {
			return invalid("an egress request takes hosts, not run commands or packages")
		}
		return ValidateHosts(c.Hosts)
	default:
		return invalid("kind %q: want \"capability\" or \"egress\"", clip(string(c.Kind)))
	}
}

// validateInstructions checks a capability's instructions: run commands or
// packages, exactly one of the two.
func validateInstructions(run, pkgs, hosts []string) error {
	switch {
	case len(hosts) > 0:
		return invalid("a capability takes run commands or packages, not hosts (ask for egress instead)")
	case len(run) > 0 && len(pkgs) > 0:
		return invalid("give run commands or packages, not both")
	case len(run) > 0:
		return ValidateRun(run)
	case len(pkgs) > 0:
		return ValidatePackages(pkgs)
	}
	return invalid("give run commands or packages")
}

// ValidateInstructions checks replacement instructions given by the
// operator: run commands or packages, exactly one of the two.
func ValidateInstructions(run, pkgs []string) error { return validateInstructions(run, pkgs, nil) }

// Validate checks a suggestion. Command and Error may span lines (they are
// evidence, never rendered into a Dockerfile) but hold no other control
// characters.
func (s *Suggestion) Validate() error {
	if s.Kind != KindCapability && s.Kind != KindEgress {
		return invalid("kind %q: want \"capability\" or \"egress\"", clip(string(s.Kind)))
	}
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	switch {
	case s.Kind == KindEgress:
		if err := ValidateHosts(s.Hosts); err != nil {
			return err
		}
	case len(s.Hosts) > 0:
		return invalid("a capability suggestion takes no hosts")
	}
	if s.Tool == "" || len(s.Tool) > MaxNameLen {
		return invalid("the tool name is empty or longer than %d bytes", MaxNameLen)
	}
	if err := checkText(s.Tool, false); err != nil {
		return fmt.Errorf("the tool name: %w", err)
	}
	for _, f := range [...]struct{ what, v string }{{"command", s.Command}, {"error", s.Error}} {
		what, v := f.what, f.v
		if len(v) > MaxEvidenceLen {
			return invalid("the %s is %d bytes long; at most %d", what, len(v), MaxEvidenceLen)
		}
		if err := checkText(v, true); err != nil {
			return fmt.Errorf("the %s: %w", what, err)
		}
	}
	return nil
}

// checkText refuses invalid UTF-8, control characters (tab allowed, and
// newline when multiline) and the characters that change the direction of
// text, which could make a line read differently on the operator's screen.
func checkText(s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return invalid("it is not valid UTF-8")
	}
	for _, r := range s {
		if r == '\t' || (multiline && r == '\n') {
			continue
		}
		if unicode.IsControl(r) || isBidi(r) {
			return invalid("it holds the control character %U; send plain text", r)
		}
	}
	return nil
}

func isBidi(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// clip shortens a refused value for an error line and makes it printable.
func clip(s string) string {
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}
