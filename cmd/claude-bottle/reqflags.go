package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/driver"
)

// requestFlags are the build options shared by build and launch, named as
// docker build and buildx name them.
type requestFlags struct {
	buildArgs, labels, secrets, ssh []string
	cacheFrom, cacheTo, outputs     []string
	platforms, noCacheFilter        []string
	target                          string
	noCache, pull, push             bool
}

func (f *requestFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "build-time variable KEY=VALUE (KEY alone takes it from the environment)")
	fl.StringArrayVar(&f.labels, "label", nil, "image label KEY=VALUE")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=NAME,src=FILE or id=NAME,env=VAR")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "SSH agent socket or keys to forward: default or ID=PATH[,PATH]")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "cache import: type=registry,ref=REF | type=local,src=DIR")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "cache export: type=registry,ref=REF,mode=max | type=local,dest=DIR | type=inline")
	fl.StringArrayVar(&f.outputs, "output", nil, "extra output: type=oci|docker|local|tar,dest=PATH")
	fl.StringSliceVar(&f.platforms, "platform", nil, "target platform(s), e.g. linux/amd64")
	fl.StringSliceVar(&f.noCacheFilter, "no-cache-filter", nil, "do not cache the named stages")
	fl.StringVar(&f.target, "target", "", "build this stage of the Dockerfile")
	fl.BoolVar(&f.noCache, "no-cache", false, "do not use the cache")
	fl.BoolVar(&f.pull, "pull", false, "always resolve base images again")
	fl.BoolVar(&f.push, "push", false, "push the image to its registry too")
}

// apply parses the flags into req. It is called once, before any build, so
// that a bad flag fails before anything runs.
func (f *requestFlags) apply(req *driver.Request) error {
	var err error
	if req.BuildArgs, err = keyValues("--build-arg", f.buildArgs, true); err != nil {
		return err
	}
	if req.Labels, err = keyValues("--label", f.labels, false); err != nil {
		return err
	}
	for _, s := range f.secrets {
		spec, err := driver.ParseSecret(s)
		if err != nil {
			return err
		}
		req.Secrets = append(req.Secrets, spec)
	}
	if len(req.Secrets) > 0 {
		src := driver.HostSecrets(req.Secrets)
		for _, spec := range req.Secrets { // refuse a missing file before any build starts
			if _, err := src.Secret(context.Background(), spec.ID); err != nil {
				return err
			}
		}
		req.SecretSource = src
	}
	for _, s := range f.ssh {
		req.SSH = append(req.SSH, driver.ParseSSH(s))
	}
	if req.CacheFrom, err = cacheSpecs(f.cacheFrom); err != nil {
		return err
	}
	if req.CacheTo, err = cacheSpecs(f.cacheTo); err != nil {
		return err
	}
	for _, o := range f.outputs {
		out, err := driver.ParseOutput(o)
		if err != nil {
			return err
		}
		req.Outputs = append(req.Outputs, out)
	}
	req.Platforms, req.NoCacheStages, req.Target = f.platforms, f.noCacheFilter, f.target
	req.NoCache, req.Pull, req.Push = f.noCache, f.pull, f.push
	return nil
}

func keyValues(flag string, vals []string, fromEnv bool) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%w: %s %q: want KEY=VALUE", driver.ErrInvalidRequest, flag, kv)
		}
		if !ok {
			if !fromEnv {
				return nil, fmt.Errorf("%w: %s %q: want KEY=VALUE", driver.ErrInvalidRequest, flag, kv)
			}
			env, set := os.LookupEnv(k)
			if !set {
				continue // docker build skips an unset KEY too
			}
			v = env
		}
		m[k] = v
	}
	return m, nil
}

func cacheSpecs(vals []string) ([]driver.CacheSpec, error) {
	var out []driver.CacheSpec
	for _, v := range vals {
		c, err := driver.ParseCacheSpec(v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// noPush refuses --push on a command that has no push name to push as:
// the image's own name is a local one, and pushed as it is it would go to
// Docker Hub. Only build pushes, under its --push-name.
func noPush(cmd string, req driver.Request) error {
	if !req.Push {
		return nil
	}
	return usageErr(fmt.Errorf("%w: --push: %s does not push, since the local image name would go to Docker Hub; push with `claude-bottle build SLUG --push --push-name REGISTRY/REPO/{image}:{tag}`", driver.ErrInvalidRequest, cmd))
}
