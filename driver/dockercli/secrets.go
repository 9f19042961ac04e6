package dockercli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/claude-bottle/claude-bottle/driver"
)

// prepareSecrets fetches each secret of req from its source and decides how
// it reaches the CLI: as a variable set only in the child's environment
// (--secret id=X,env=VAR), or, for a value an environment variable cannot
// hold (one with a NUL byte), as a 0600 file in dir, which the caller
// removes after the build. Values never go on the command line.
func prepareSecrets(ctx context.Context, req driver.Request, dir string) ([]secretRef, []string, error) {
	if len(req.Secrets) == 0 {
		return nil, nil, nil
	}
	src := req.SecretSource
	if src == nil {
		src = driver.HostSecrets(req.Secrets)
	}
	var (
		refs []secretRef
		env  []string
	)
	for i, s := range req.Secrets {
		val, err := src.Secret(ctx, s.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("secret %q: %w", s.ID, err)
		}
		if bytes.IndexByte(val, 0) < 0 {
			name := secretEnvPrefix + strconv.Itoa(i)
			refs = append(refs, secretRef{id: s.ID, env: name})
			env = append(env, name+"="+string(val))
			continue
		}
		p := filepath.Join(dir, "secret-"+strconv.Itoa(i))
		if err := os.WriteFile(p, val, 0o600); err != nil {
			return nil, nil, fmt.Errorf("secret %q: writing its temporary file: %w", s.ID, err)
		}
		refs = append(refs, secretRef{id: s.ID, src: p})
	}
	return refs, env, nil
}
