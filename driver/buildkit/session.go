package buildkit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/docker/cli/cli/config"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/session/sshforward/sshprovider"
)

// attachables are the services the build's session offers the daemon:
// registry credentials from the user's docker config, the request's
// secrets and SSH agents.
//
// auth offers the user's registry credentials; it is false when a
// connection of the build is cleartext, where they would cross in the
// clear (pulls of public images still work, anonymously).
func attachables(req driver.Request, auth bool) ([]session.Attachable, error) {
	var out []session.Attachable
	if auth {
		out = append(out, authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
			AuthConfigProvider: authprovider.LoadAuthConfig(config.LoadDefaultConfigFile(io.Discard)),
		}))
	}
	if len(req.Secrets) > 0 {
		if req.SecretSource == nil {
			return nil, fmt.Errorf("%w: secrets %v are named but the request has no SecretSource to read them from", driver.ErrInvalidRequest, secretIDs(req.Secrets))
		}
		out = append(out, secretsprovider.NewSecretProvider(secretStore{req: req}))
	}
	if len(req.SSH) > 0 {
		confs := make([]sshprovider.AgentConfig, 0, len(req.SSH))
		for _, s := range req.SSH {
			confs = append(confs, sshprovider.AgentConfig{ID: s.ID, Paths: s.Paths})
		}
		sp, err := sshprovider.NewSSHAgentProvider(confs)
		if err != nil {
			return nil, fmt.Errorf("%w: ssh: %w (start ssh-agent and set SSH_AUTH_SOCK, or give --ssh ID=PATH)", driver.ErrInvalidRequest, err)
		}
		out = append(out, sp)
	}
	return out, nil
}

// secretStore serves the request's secrets, and only those, with values
// from its SecretSource, so a value is read only when a RUN mounts it and
// never travels in the request.
type secretStore struct {
	req driver.Request
}

// GetSecret implements secrets.SecretStore.
func (s secretStore) GetSecret(ctx context.Context, id string) ([]byte, error) {
	named := false
	for _, sp := range s.req.Secrets {
		named = named || sp.ID == id
	}
	if !named {
		// BuildKit treats ErrNotFound as "secret absent", which a
		// RUN --mount=type=secret,required=false tolerates.
		return nil, fmt.Errorf("secret %q was not given to this build: %w", id, secrets.ErrNotFound)
	}
	v, err := s.req.SecretSource.Secret(ctx, id)
	if errors.Is(err, driver.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", err, secrets.ErrNotFound)
	}
	return v, err
}

func secretIDs(specs []driver.SecretSpec) []string {
	ids := make([]string, 0, len(specs))
	for _, s := range specs {
		ids = append(ids, s.ID)
	}
	return ids
}
