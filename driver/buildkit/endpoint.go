package buildkit

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// kind is the sort of BuildKit a Builder talks to; it decides which request
// fields can be honoured.
type kind int

const (
	// kindEngine is the Docker engine's embedded BuildKit, reached through
	// the engine API's hijacked /grpc and /session endpoints.
	kindEngine kind = iota
	// kindUnix is a standalone buildkitd on a unix socket.
	kindUnix
	// kindTCP is a standalone buildkitd over TCP, with TLS unless the user
	// allowed plain TCP.
	kindTCP
	// kindContainer is a buildkitd in a container of the Docker engine,
	// reached by running "buildctl dial-stdio" in it over the engine API.
	kindContainer
)

// endpoint is a parsed BuildKit address.
type endpoint struct {
	kind kind
	// addr is the address handed to the BuildKit client (unix:// and
	// tcp://), or the container name (docker-container://).
	addr string
}

// standalone reports whether the endpoint is a buildkitd of its own rather
// than the engine's embedded BuildKit.
func (e endpoint) standalone() bool { return e.kind != kindEngine }

// String names the endpoint for the user.
func (e endpoint) String() string {
	switch e.kind {
	case kindEngine:
		return "docker engine's embedded BuildKit"
	case kindContainer:
		return "docker-container://" + e.addr
	default:
		return e.addr
	}
}

// parseEndpoint reads cfg.BuildKitAddr. It contacts nothing: it only checks
// that the address is one the driver can use safely.
func parseEndpoint(cfg driver.Config) (endpoint, error) {
	addr := strings.TrimSpace(cfg.BuildKitAddr)
	if addr == "" {
		return endpoint{kind: kindEngine}, nil
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return endpoint{}, fmt.Errorf("%w: BuildKit address %q is not a URL (want unix:///PATH, tcp://HOST:PORT or docker-container://NAME)", driver.ErrInvalidRequest, addr)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" && u.Host == "" {
			return endpoint{}, fmt.Errorf("%w: BuildKit address %q names no socket (want unix:///PATH)", driver.ErrInvalidRequest, addr)
		}
		return endpoint{kind: kindUnix, addr: addr}, nil
	case "tcp":
		if u.Host == "" {
			return endpoint{}, fmt.Errorf("%w: BuildKit address %q names no host (want tcp://HOST:PORT)", driver.ErrInvalidRequest, addr)
		}
		if !hasTLS(cfg.BuildKitTLS) && !cfg.BuildKitInsecure {
			return endpoint{}, fmt.Errorf("%w: BuildKit address %q is plain TCP, which lets anyone on the network run builds as root: "+
				"give TLS files (--buildkit-tls-ca, --buildkit-tls-cert, --buildkit-tls-key) or, on a trusted network, pass --buildkit-insecure", driver.ErrInvalidRequest, addr)
		}
		return endpoint{kind: kindTCP, addr: addr}, nil
	case "docker-container":
		name := u.Host
		if name == "" {
			name = strings.TrimPrefix(u.Path, "/")
		}
		if name == "" {
			return endpoint{}, fmt.Errorf("%w: BuildKit address %q names no container (want docker-container://NAME)", driver.ErrInvalidRequest, addr)
		}
		return endpoint{kind: kindContainer, addr: name}, nil
	default:
		return endpoint{}, fmt.Errorf("%w: BuildKit address %q has scheme %q; use unix://, tcp:// or docker-container://", driver.ErrUnsupported, addr, u.Scheme)
	}
}

func hasTLS(t driver.TLSConfig) bool {
	return t.CA != "" || t.Cert != "" || t.Key != ""
}
