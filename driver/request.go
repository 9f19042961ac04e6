package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Request is one build: a Dockerfile and a context directory into tagged
// image, with the options users know from docker build and buildctl.
type Request struct {
	// Dockerfile is the path of the Dockerfile. It may lie outside
	// ContextDir, as a bottle's override does.
	Dockerfile string `json:"dockerfile"`
	// ContextDir is the build context: the repo root.
	ContextDir string `json:"context"`
	// Tags are the image names to give the result ("claude-bottle:latest").
	Tags []string `json:"tags,omitempty"`
	// BuildArgs are ARG values (--build-arg).
	BuildArgs map[string]string `json:"build_args,omitempty"`
	// Target is the stage to build; empty builds the last stage.
	Target string `json:"target,omitempty"`
	// Labels are added to the image config.
	Labels map[string]string `json:"labels,omitempty"`
	// NoCache disables the cache for every step.
	NoCache bool `json:"no_cache,omitempty"`
	// NoCacheStages disables the cache for the named stages only.
	NoCacheStages []string `json:"no_cache_stages,omitempty"`
	// Pull forces base images to be resolved again.
	Pull bool `json:"pull,omitempty"`
	// Platforms are the target platforms ("linux/amd64"); empty is the
	// builder's own.
	Platforms []string `json:"platforms,omitempty"`
	// CacheFrom and CacheTo are cache imports and exports.
	CacheFrom []CacheSpec `json:"cache_from,omitempty"`
	CacheTo   []CacheSpec `json:"cache_to,omitempty"`
	// Secrets name the secrets the build may mount. Their values are never
	// in the request: the driver asks SecretSource for them.
	Secrets []SecretSpec `json:"secrets,omitempty"`
	// SecretSource yields secret values by ID. It is not serialised: across
	// the plugin boundary it becomes a callback into the host.
	SecretSource SecretSource `json:"-"`
	// SSH names SSH agent sockets or keys to forward (--ssh default).
	SSH []SSHSpec `json:"ssh,omitempty"`
	// Push pushes the image to its registry as well.
	Push bool `json:"push,omitempty"`
	// Outputs replace the default output (load into the Docker engine);
	// an output of type docker with no dest (LoadOutput) keeps the load
	// among them, as buildx's --load does.
	Outputs []Output `json:"outputs,omitempty"`
	// NoLoad skips loading the image into the Docker engine (useful with
	// Push or Outputs alone).
	NoLoad bool `json:"no_load,omitempty"`
}

// CacheSpec is one cache import or export, as in buildx's --cache-from and
// --cache-to: a type (registry, local, inline) and its attributes.
type CacheSpec struct {
	Type  string            `json:"type"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// SecretSpec names one secret and where the host reads its value from:
// a file (Src) or an environment variable (Env).
type SecretSpec struct {
	ID  string `json:"id"`
	Src string `json:"src,omitempty"`
	Env string `json:"env,omitempty"`
}

// SSHSpec names one SSH forwarding: an ID and the agent socket or key paths;
// no paths means $SSH_AUTH_SOCK.
type SSHSpec struct {
	ID    string   `json:"id"`
	Paths []string `json:"paths,omitempty"`
}

// Output is an export destination other than the Docker engine, as in
// --output type=oci,dest=PATH.
type Output struct {
	Type  string            `json:"type"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// LoadOutput is the output that loads the image into the Docker engine,
// type=docker with no dest, as buildx's --load means it. It is the default
// when a request has no Outputs; among other Outputs it keeps the load.
func LoadOutput() Output { return Output{Type: "docker"} }

// Loads reports whether o is LoadOutput: type docker with no dest.
func (o Output) Loads() bool { return o.Type == "docker" && o.Attrs["dest"] == "" }

// Loads reports whether the request loads its image into the Docker
// engine: unless NoLoad, when it has no Outputs or one of them is
// LoadOutput.
func (r Request) Loads() bool {
	if r.NoLoad {
		return false
	}
	if len(r.Outputs) == 0 {
		return true
	}
	for _, o := range r.Outputs {
		if o.Loads() {
			return true
		}
	}
	return false
}

// SecretSource yields the value of a secret by its ID.
type SecretSource interface {
	Secret(ctx context.Context, id string) ([]byte, error)
}

// Validate checks the request before any work is done, so a driver can rely
// on its basic shape.
func (r Request) Validate() error {
	if r.Dockerfile == "" {
		return fmt.Errorf("%w: no Dockerfile given", ErrInvalidRequest)
	}
	if r.ContextDir == "" {
		return fmt.Errorf("%w: no build context given", ErrInvalidRequest)
	}
	if st, err := os.Stat(r.ContextDir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: build context %q is not a readable directory", ErrInvalidRequest, r.ContextDir)
	}
	if _, err := os.Stat(r.Dockerfile); err != nil {
		return fmt.Errorf("%w: Dockerfile %q: %v", ErrInvalidDockerfile, r.Dockerfile, err)
	}
	seen := map[string]bool{}
	for _, s := range r.Secrets {
		if s.ID == "" {
			return fmt.Errorf("%w: a secret has no id (use id=NAME,src=FILE or id=NAME,env=VAR)", ErrInvalidRequest)
		}
		if seen[s.ID] {
			return fmt.Errorf("%w: secret %q is given twice", ErrInvalidRequest, s.ID)
		}
		seen[s.ID] = true
	}
	return nil
}

// DockerfileDir returns the folder that holds the Dockerfile and the
// Dockerfile's base name, the two halves BuildKit's "dockerfile" mount needs.
func (r Request) DockerfileDir() (dir, name string) {
	abs, err := filepath.Abs(r.Dockerfile)
	if err != nil {
		abs = r.Dockerfile
	}
	return filepath.Dir(abs), filepath.Base(abs)
}

// HostSecrets is a SecretSource that reads each secret from the file or
// environment variable its SecretSpec names, on the host.
type HostSecrets []SecretSpec

// Secret returns the value of secret id.
func (h HostSecrets) Secret(_ context.Context, id string) ([]byte, error) {
	for _, s := range h {
		if s.ID != id {
			continue
		}
		switch {
		case s.Env != "":
			v, ok := os.LookupEnv(s.Env)
			if !ok {
				return nil, fmt.Errorf("%w: secret %q: environment variable %q is not set", ErrInvalidRequest, id, s.Env)
			}
			return []byte(v), nil
		case s.Src != "":
			return readSecretFile(id, s.Src)
		default:
			v, ok := os.LookupEnv(id)
			if !ok {
				return nil, fmt.Errorf("%w: secret %q has neither src= nor env=, and no variable %q is set", ErrInvalidRequest, id, id)
			}
			return []byte(v), nil
		}
	}
	return nil, fmt.Errorf("%w: secret %q was not given to this build (add --secret id=%s,src=FILE)", ErrNotFound, id, id)
}

// ParseSecret parses a --secret value: "id=NAME[,src=FILE|,env=VAR]", also
// accepting "source" and "type" keys as docker does.
func ParseSecret(v string) (SecretSpec, error) {
	var s SecretSpec
	for _, f := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return s, fmt.Errorf("%w: --secret %q: %q is not key=value (want id=NAME,src=FILE or id=NAME,env=VAR)", ErrInvalidRequest, v, f)
		}
		switch strings.ToLower(k) {
		case "id":
			s.ID = val
		case "src", "source":
			s.Src = val
		case "env":
			s.Env = val
		case "type":
			if val != "file" && val != "env" {
				return s, fmt.Errorf("%w: --secret %q: type must be file or env", ErrInvalidRequest, v)
			}
		default:
			return s, fmt.Errorf("%w: --secret %q: unknown key %q (want id, src or env)", ErrInvalidRequest, v, k)
		}
	}
	if s.ID == "" {
		return s, fmt.Errorf("%w: --secret %q has no id=", ErrInvalidRequest, v)
	}
	return s, nil
}

// ParseSSH parses an --ssh value as docker and buildx take it: "default",
// "ID", or "ID=PATH[,PATH...]" naming agent sockets or key files. No paths
// means $SSH_AUTH_SOCK; an empty ID means "default".
func ParseSSH(v string) SSHSpec {
	id, paths, _ := strings.Cut(v, "=")
	spec := SSHSpec{ID: id}
	if paths != "" {
		spec.Paths = strings.Split(paths, ",")
	}
	return spec
}

// ParseCacheSpec parses a --cache-from/--cache-to value: "type=registry,ref=X"
// or, as buildx accepts, a bare reference meaning a registry cache.
func ParseCacheSpec(v string) (CacheSpec, error) {
	attrs, err := parseAttrs(v)
	if err != nil {
		return CacheSpec{}, err
	}
	if !strings.Contains(v, "=") {
		return CacheSpec{Type: "registry", Attrs: map[string]string{"ref": v}}, nil
	}
	typ := attrs["type"]
	delete(attrs, "type")
	if typ == "" {
		return CacheSpec{}, fmt.Errorf("%w: cache %q has no type= (registry, local, inline)", ErrInvalidRequest, v)
	}
	return CacheSpec{Type: typ, Attrs: attrs}, nil
}

// ParseOutput parses an --output value: "type=oci,dest=PATH".
func ParseOutput(v string) (Output, error) {
	attrs, err := parseAttrs(v)
	if err != nil {
		return Output{}, err
	}
	typ := attrs["type"]
	delete(attrs, "type")
	if typ == "" {
		return Output{}, fmt.Errorf("%w: output %q has no type= (oci, docker, local, image, registry)", ErrInvalidRequest, v)
	}
	return Output{Type: typ, Attrs: attrs}, nil
}

func parseAttrs(v string) (map[string]string, error) {
	attrs := map[string]string{}
	if !strings.Contains(v, "=") {
		return attrs, nil
	}
	for _, f := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: %q: %q is not key=value", ErrInvalidRequest, v, f)
		}
		attrs[strings.ToLower(strings.TrimSpace(k))] = val
	}
	return attrs, nil
}
