package plugins

import (
	"os"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// passEnv are the host variables a plugin gets: where to find binaries,
// its home and config, the locale, and proxies for a remote daemon. Anything
// else (ANTHROPIC_API_KEY, GITHUB_TOKEN, cloud keys) stays on the host, even
// for a plugin found on $PATH that nobody verified. SSH_AUTH_SOCK is not
// passed: the host names the agent socket in a build's --ssh spec when one
// is asked for (see withSSHDefault).
var passEnv = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true,
	"LANG": true, "LC_ALL": true, "LC_CTYPE": true, "LC_MESSAGES": true, "TZ": true,
	"XDG_RUNTIME_DIR": true, "XDG_CONFIG_HOME": true, "XDG_CACHE_HOME": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
	// Go runtime settings: a plugin built with -race or under a memory
	// limit honours them; they carry no secret.
	"GORACE": true, "GOMEMLIMIT": true, "GOMAXPROCS": true,
	// The test suite's hooks: its marker for finding leftover processes
	// (a random tag) and the modes of its test plugins. They hold nothing
	// secret. TODO: steer the test plugins through wrapper scripts instead.
	"CB_LEAK_TAG": true, "CB_TESTPLUGIN_MODE": true,
}

// passPrefixes are the variable families a driver reads: the docker CLI's
// (DOCKER_HOST, DOCKER_CONFIG, DOCKER_CERT_PATH...), buildx's, BuildKit's
// (BUILDKIT_HOST...) and the TLS roots (SSL_CERT_FILE, SSL_CERT_DIR).
var passPrefixes = []string{"DOCKER_", "BUILDX_", "BUILDKIT_", "SSL_CERT_"}

// PluginEnv returns the part of parent (KEY=VALUE entries, as os.Environ
// gives them) that a driver plugin may see, sorted. It is what every
// plugin process, built-in or not, starts with, before the handshake
// variables.
func PluginEnv(parent []string) []string {
	var out []string
	for _, kv := range parent {
		k, _, ok := strings.Cut(kv, "=")
		if ok && passedToPlugin(k) {
			out = append(out, kv)
		}
	}
	sort.Strings(out)
	return out
}

func passedToPlugin(k string) bool {
	if passEnv[k] {
		return true
	}
	for _, p := range passPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// withSSHDefault names the host's agent socket ($SSH_AUTH_SOCK) in each SSH
// forwarding that names no path, since the plugin does not see the
// variable. Without an agent the spec is left as it is, for the driver to
// refuse in its own words.
func withSSHDefault(req driver.Request) driver.Request {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if len(req.SSH) == 0 || sock == "" {
		return req
	}
	specs := make([]driver.SSHSpec, len(req.SSH))
	for i, s := range req.SSH {
		if len(s.Paths) == 0 {
			s.Paths = []string{sock}
		}
		specs[i] = s
	}
	req.SSH = specs
	return req
}
