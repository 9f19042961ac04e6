package allow

import (
	"errors"
	"fmt"
	"net/url"
)

// DefaultAnthropicURL is where the Anthropic API is.
const DefaultAnthropicURL = "https://api.anthropic.com"

// ErrBadUpstream classes an Anthropic API URL that cannot be used.
var ErrBadUpstream = errors.New("bad Anthropic API URL")

// ParseUpstream checks the URL the host's Anthropic proxy forwards to
// (config `[egress] anthropic_url`; "" means DefaultAnthropicURL): an
// http(s) URL with a host and no credentials or query of its own.
func ParseUpstream(raw string) (*url.URL, error) {
	if raw == "" {
		raw = DefaultAnthropicURL
	}
	up, err := url.Parse(raw)
	if err != nil || (up.Scheme != "https" && up.Scheme != "http") || up.Host == "" || up.User != nil || up.RawQuery != "" {
		return nil, fmt.Errorf("%w: %q: want http(s)://HOST[:PORT][/PATH], like %s", ErrBadUpstream, clip(raw), DefaultAnthropicURL)
	}
	return up, nil
}
