package egress

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"

	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/request"
)

// Names of the variables the bottle's environment gets for the API.
const (
	// BaseURLEnv points Claude Code at the API through the bottle's own
	// proxy.
	BaseURLEnv = "ANTHROPIC_BASE_URL"
	// TokenEnv holds the placeholder: Claude Code asks for a login unless
	// it has some credential, and a token (unlike an API key) is used
	// without asking the user to confirm it.
	TokenEnv = "ANTHROPIC_AUTH_TOKEN"
	// PlaceholderToken is the only credential a bottle ever holds; the
	// host proxy drops it and adds the real one.
	PlaceholderToken = "claude-bottle-placeholder"
)

// BaseURL is the bottle's ANTHROPIC_BASE_URL.
const BaseURL = "http://" + inbottle.ForwarderAddr + AnthropicPrefix

// SecretEnv are the host variables that hold Anthropic credentials: they
// never enter a bottle.
var SecretEnv = []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"}

// MaxConns is how many connections a bottle may hold open on its socket
// with the egress proxy mounted (each tunnel is one); more wait their
// turn. PID 1's forwarder takes up to 256.
const MaxConns = 128

// Setup is the egress side of one launch: what every bottle may reach
// (beyond DefaultRules and its approved egress capabilities), where its
// API calls go and with which credentials.
type Setup struct {
	// Allow is config [egress] allow.
	Allow []string
	// AnthropicURL is config [egress] anthropic_url ("" for the API).
	AnthropicURL string
	// Credentials are the host's (CredentialsFromEnv). Empty, the bottle
	// calls the API directly through the egress proxy and must log in
	// itself (OAuth; see the README).
	Credentials Credentials
	// Log records refusals and failures; nil discards.
	Log *slog.Logger
}

// Env returns what the bottle's environment gets: with host credentials,
// ANTHROPIC_BASE_URL pointing at the bottle's proxy and a placeholder
// token, never the real credential. Claude Code's non-essential traffic
// (telemetry, error reports, update checks) is turned off either way: no
// bottle may reach those hosts, and each refusal would be a suggestion.
func (s Setup) Env() []string {
	env := []string{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}
	if !s.Credentials.Empty() {
		env = append(env, BaseURLEnv+"="+BaseURL, TokenEnv+"="+PlaceholderToken)
	}
	return env
}

// Hook returns what launch calls with the bottle socket's options (a
// launch.SocketHook): it mounts the egress proxy and, with host
// credentials, the Anthropic reverse proxy. Bad settings are refused
// here, before anything runs.
func (s Setup) Hook() (func(*request.ServerOptions), error) {
	static, err := allow.ParseRules("config [egress] allow", s.Allow)
	if err != nil {
		return nil, err
	}
	static = append(slices.Clone(allow.DefaultRules), static...)
	var api http.Handler
	if !s.Credentials.Empty() {
		if api, err = NewAnthropic(AnthropicOptions{Upstream: s.AnthropicURL, Credentials: s.Credentials, Log: s.Log}); err != nil {
			return nil, fmt.Errorf("config [egress] anthropic_url: %w", err)
		}
	}
	return func(o *request.ServerOptions) {
		log := s.Log
		if log == nil {
			log = o.Log
		}
		p := &Proxy{
			Policy:    &Policy{Static: static, Dynamic: CapabilityRules(o.Store.State(), o.Slug)},
			Slug:      o.Slug,
			Suggest:   StoreSuggester{Store: o.Store},
			Self:      api,
			SelfAddrs: selfAddrs(),
			Log:       log,
		}
		o.Egress = p
		if api != nil {
			o.Anthropic = api
		}
		// Every tunnel holds a connection: an agent's HTTP clients keep
		// several open, and a package manager many more.
		o.MaxConns = max(o.MaxConns, MaxConns)
	}, nil
}

// selfAddrs are the names of the bottle's own proxy in a URL.
func selfAddrs() []string {
	_, port, _ := net.SplitHostPort(inbottle.ForwarderAddr)
	return []string{inbottle.ForwarderAddr, net.JoinHostPort("localhost", port)}
}
