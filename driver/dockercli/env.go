package dockercli

import (
	"os"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// passEnv are the variables of the parent's environment that the docker CLI
// needs or honours, besides the DOCKER_ and BUILDX_ families: where to find
// binaries, config and sockets, the locale, and proxies for a remote daemon.
var passEnv = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "TMPDIR": true,
	"LANG": true, "LC_ALL": true, "LC_CTYPE": true, "TZ": true,
	"XDG_RUNTIME_DIR": true, "XDG_CONFIG_HOME": true, "SSH_AUTH_SOCK": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"http_proxy": true, "https_proxy": true, "no_proxy": true, "all_proxy": true,
}

// passPrefixes are variable families the CLI and its plugins read:
// DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG, DOCKER_CERT_PATH, BUILDX_BUILDER
// and the like.
var passPrefixes = []string{"DOCKER_", "BUILDX_"}

// secretEnvPrefix names the variables that carry secret values to the CLI
// (--secret id=X,env=CLAUDE_BOTTLE_SECRET_0). Inherited ones are dropped so
// that only this build's secrets reach the child.
const secretEnvPrefix = "CLAUDE_BOTTLE_SECRET_"

// env returns the environment of a docker process in mode (empty for the
// detection commands), plus extra "K=V" entries.
func (b *Builder) env(mode Mode, extra []string) []string {
	return childEnv(os.Environ(), b.cfg.DockerHost, mode, extra)
}

// childEnv builds a docker child's environment deliberately from parent:
// only the variables the CLI needs pass, DOCKER_BUILDKIT is always set for
// a build (a newer client silently falls back to the legacy builder without
// it), dockerHost (cfg.DockerHost) overrides DOCKER_HOST and DOCKER_CONTEXT,
// and the CLI's "What's next" hints are turned off. The result is sorted.
func childEnv(parent []string, dockerHost string, mode Mode, extra []string) []string {
	vars := map[string]string{}
	for _, kv := range parent {
		k, v, ok := strings.Cut(kv, "=")
		if ok && keep(k) {
			vars[k] = v
		}
	}
	delete(vars, "DOCKER_BUILDKIT")
	switch mode {
	case ModeLegacy:
		vars["DOCKER_BUILDKIT"] = "0"
	case ModeBuildKit, ModeBuildx:
		vars["DOCKER_BUILDKIT"] = "1"
	}
	if dockerHost != "" {
		vars["DOCKER_HOST"] = dockerHost
		delete(vars, "DOCKER_CONTEXT")
	}
	vars["DOCKER_CLI_HINTS"] = "false"
	if driver.EngineCleartext(vars["DOCKER_HOST"], func(k string) string { return vars[k] }) {
		// Over plain TCP the CLI would send the registry credentials of
		// the user's config in the clear: it gets a config folder that
		// does not exist, so it has none to send.
		vars["DOCKER_CONFIG"] = noCredentialsConfig
	}
	out := make([]string, 0, len(vars)+len(extra))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	out = append(out, extra...)
	sort.Strings(out)
	return out
}

// noCredentialsConfig is the DOCKER_CONFIG of a docker child on a cleartext
// engine connection: a folder that cannot exist (under a file), so the CLI
// finds no credentials, and cannot store any.
const noCredentialsConfig = "/dev/null/claude-bottle-no-credentials"

func keep(k string) bool {
	if strings.HasPrefix(k, secretEnvPrefix) {
		return false
	}
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
