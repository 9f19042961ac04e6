// Package egress is the host side of a bottle's network: the allowlist
// that decides where a bottle may connect, the forward proxy that
// enforces it (HTTP CONNECT and absolute-form requests arriving on the
// bottle's socket), and the reverse proxy to the Anthropic API that adds
// the host's key, so no real credential ever enters a bottle.
//
// A bottle has no network of its own. Its PID 1 relays the agent's proxy
// connections over the bottle socket to request.Server, which hands
// CONNECT and absolute-form requests to a Proxy and /anthropic/ to an
// Anthropic handler. The allowlist is read on every connection, so an
// approved egress request is live at once, without a rebuild.
package egress
