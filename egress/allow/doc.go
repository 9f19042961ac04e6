// Package allow is the grammar of a bottle's network allowlist: a rule
// (`host` or `host:port`), how host names are normalised, and the classes
// of addresses no rule may open (link-local, where cloud metadata lives)
// or only an explicit host:port may (loopback and private ranges). It
// imports nothing of ours, so config can check `[egress] allow` on load
// without pulling in the proxy.
package allow
