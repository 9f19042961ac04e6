package config

import (
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// PoolMember is one daemon of a BuildKit pool: its address and the TLS
// files of its own, if any (empty fields take the [buildkit] tls_* ones).
type PoolMember struct {
	Addr string
	TLS  driver.TLSConfig
}

// poolKeys are the keys a pool member's inline table may hold.
const poolKeys = "addr, tls_ca, tls_cert, tls_key, server_name"

// PoolMembers reads the pool entries: strings or inline tables. Its error
// says which entry is wrong and why, without the file's position.
func (b BuildKit) PoolMembers() ([]PoolMember, error) {
	var out []PoolMember
	seen := map[string]bool{}
	for i, e := range b.Pool {
		m, err := poolMember(e)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		if !hasScheme(m.Addr, "unix://", "tcp://", "docker-container://") {
			return nil, fmt.Errorf("entry %d: %q: want unix://PATH, tcp://HOST:PORT or docker-container://NAME", i+1, m.Addr)
		}
		if seen[m.Addr] {
			return nil, fmt.Errorf("entry %d: %q is listed twice; list each daemon once", i+1, m.Addr)
		}
		seen[m.Addr] = true
		out = append(out, m)
	}
	return out, nil
}

func poolMember(e any) (PoolMember, error) {
	switch v := e.(type) {
	case string:
		return PoolMember{Addr: strings.TrimSpace(v)}, nil
	case map[string]any:
		var m PoolMember
		for k, val := range v {
			s, ok := val.(string)
			if !ok {
				return m, fmt.Errorf("key %q must be a string", k)
			}
			switch k {
			case "addr":
				m.Addr = strings.TrimSpace(s)
			case "tls_ca":
				m.TLS.CA = s
			case "tls_cert":
				m.TLS.Cert = s
			case "tls_key":
				m.TLS.Key = s
			case "server_name":
				m.TLS.ServerName = s
			default:
				return m, fmt.Errorf("unknown key %q (a member takes %s)", k, poolKeys)
			}
		}
		if m.Addr == "" {
			return m, fmt.Errorf("no addr (a member takes %s)", poolKeys)
		}
		return m, nil
	default:
		return PoolMember{}, fmt.Errorf("%v is neither an address string nor a table {addr = \"...\", tls_ca = \"...\"}", e)
	}
}

// validate checks the pool and the cache.
func (b BuildKit) validate(path string, data []byte) error {
	if _, err := b.PoolMembers(); err != nil {
		return badValue(path, data, "buildkit.pool", err.Error())
	}
	if len(b.Pool) > 0 && b.Addr != "" {
		return badValue(path, data, "buildkit.pool", "set buildkit.addr (one daemon) or buildkit.pool (several), not both")
	}
	if c := b.Cache; c != "" && (strings.Contains(c, "://") || strings.ContainsAny(c, " ,@") || strings.HasSuffix(c, "/") || strings.Contains(c[strings.LastIndex(c, "/")+1:], ":")) {
		return badValue(path, data, "buildkit.cache", fmt.Sprintf("%q: want a registry repository such as \"registry.internal:5000/claude-bottle/cache\" (no scheme, tag or digest)", c))
	}
	return nil
}

// resolvePool picks the pool: two or more --buildkit-addr flags, else
// (when neither --buildkit-addr nor $BUILDKIT_HOST names one daemon) the
// file's pool, each member's own TLS files over the global ones.
func resolvePool(flags Flags, env Env, f File, global driver.TLSConfig, path string) ([]PoolMember, string, error) {
	if len(flags.BuildKitPool) > 0 {
		entries := make([]any, len(flags.BuildKitPool))
		for i, a := range flags.BuildKitPool {
			entries[i] = a
		}
		out, err := BuildKit{Pool: entries}.PoolMembers()
		if err != nil {
			return nil, "", fmt.Errorf("%w: --buildkit-addr (given %d times, a pool): %w", ErrConfig, len(entries), err)
		}
		for i := range out {
			out[i].TLS = global
		}
		return out, "--buildkit-addr", nil
	}
	if flags.BuildKitAddr != "" || env("BUILDKIT_HOST") != "" {
		return nil, "", nil
	}
	ms, _ := f.BuildKit.PoolMembers() // checked by Load
	for i := range ms {
		t := &ms[i].TLS
		t.CA, t.Cert, t.Key = first(t.CA, global.CA), first(t.Cert, global.Cert), first(t.Key, global.Key)
	}
	if len(ms) == 0 {
		return nil, "", nil
	}
	return ms, Position(path, "buildkit.pool"), nil
}
