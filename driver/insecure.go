package driver

import (
	"fmt"
	"net/url"
	"os"
	"strings"
)

// EngineCleartext reports whether the Docker engine at host (a
// DOCKER_HOST value; "" means $DOCKER_HOST) is reached over plain TCP: a
// tcp:// or http:// address while $DOCKER_TLS_VERIFY is unset, as the
// docker CLI and the engine API client read them. getenv is os.Getenv in
// use, a map's lookup in tests.
func EngineCleartext(host string, getenv func(string) string) bool {
	if host == "" {
		host = getenv("DOCKER_HOST")
	}
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "tcp", "http":
		return getenv("DOCKER_TLS_VERIFY") == ""
	}
	return false
}

// EngineExposure is what crosses the connection to the Docker engine, for
// warnings and refusals about a cleartext one.
const EngineExposure = "the bottle's environment (its API key included), its transcript, the build context, build secrets, registry credentials and the SSH agent"

// Cleartext names the connection of cfg that carries builds unencrypted
// (the Docker engine over plain TCP, or a BuildKit tcp:// address without
// TLS allowed by --buildkit-insecure), or returns "" if there is none.
// getenv reads DOCKER_HOST, DOCKER_TLS_VERIFY and BUILDKIT_HOST.
func (c Config) Cleartext(getenv func(string) string) string {
	if EngineCleartext(c.DockerHost, getenv) {
		return "the Docker engine at " + firstNonEmptyString(c.DockerHost, getenv("DOCKER_HOST")) + " (plain TCP)"
	}
	if addr := firstNonEmptyString(c.BuildKitAddr, getenv("BUILDKIT_HOST")); strings.HasPrefix(addr, "tcp://") && c.BuildKitTLS == (TLSConfig{}) {
		return "the BuildKit daemon at " + addr + " (plain TCP)"
	}
	return ""
}

// CheckExposure refuses a request whose secrets or SSH agent would cross a
// connection of cfg in cleartext. Every built-in driver calls it, and the
// plugin host calls it for every plugin.
func CheckExposure(cfg Config, req Request) error {
	conn := cfg.Cleartext(os.Getenv)
	if conn == "" {
		return nil
	}
	var what []string
	if len(req.Secrets) > 0 {
		what = append(what, "--secret")
	}
	if len(req.SSH) > 0 {
		what = append(what, "--ssh")
	}
	if len(what) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s refused: %s is not encrypted, so the values would cross the network in cleartext; use TLS (DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH, or --buildkit-tls-ca, --buildkit-tls-cert and --buildkit-tls-key), ssh:// or a unix socket, or build without %s",
		ErrInvalidRequest, strings.Join(what, " and "), conn, strings.Join(what, " and "))
}

func firstNonEmptyString(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
