package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/state"
)

// errConfig classes configuration errors as bad input (exit 2).
var errConfig = config.ErrConfig

// home returns the state root: --home, else $CLAUDE_BOTTLE_HOME, else
// ~/.claude-bottle.
func (a *app) home() (string, error) {
	if a.global.home != "" {
		return a.global.home, nil
	}
	return state.DefaultRoot()
}

// store opens the state store at the root.
func (a *app) store() (*state.Store, error) {
	root, err := a.home()
	if err != nil {
		return nil, err
	}
	return state.Open(root)
}

// driverFlags are the flags of every command that builds or plans a build.
type driverFlags struct {
	repo, driver           string
	buildkitAddr           []string
	tlsCA, tlsCert, tlsKey string
	insecure               bool
	dockerInsecure         bool
	dockerHost, dockerBin  string
	driverOpts             []string
}

func (f *driverFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", "", "repo root holding the bottle Dockerfile (default $CLAUDE_BOTTLE_REPO, the config's repo, or the built-in default bottle)")
	fl.StringVar(&f.driver, "driver", "", "build driver: buildkit, docker or a plugin's name (default $CLAUDE_BOTTLE_DRIVER, the config's driver, or the best one that works here)")
	fl.StringArrayVar(&f.buildkitAddr, "buildkit-addr", nil, "BuildKit address: unix://, tcp:// or docker-container:// (default $BUILDKIT_HOST, else the config's addr or pool, else the Docker engine's BuildKit); give it again for a pool of daemons")
	fl.StringVar(&f.tlsCA, "buildkit-tls-ca", "", "CA certificate for a tcp:// BuildKit")
	fl.StringVar(&f.tlsCert, "buildkit-tls-cert", "", "client certificate for a tcp:// BuildKit")
	fl.StringVar(&f.tlsKey, "buildkit-tls-key", "", "client key for a tcp:// BuildKit")
	fl.BoolVar(&f.insecure, "buildkit-insecure", false, "allow a tcp:// BuildKit address without TLS")
	fl.StringVar(&f.dockerHost, "docker-host", "", "Docker engine to load images into and run bottles on (default $DOCKER_HOST)")
	fl.BoolVar(&f.dockerInsecure, "docker-insecure", false, "allow a Docker engine at tcp:// without TLS (the bottle's environment, build context and images cross in cleartext; --secret and --ssh are refused)")
	fl.StringVar(&f.dockerBin, "docker-bin", "", "docker CLI for the docker driver (default docker on PATH)")
	fl.StringArrayVar(&f.driverOpts, "driver-opt", nil, "driver-specific option KEY=VALUE (repeatable)")
}

// settings merges the driver flags over the environment over the config.
func (a *app) settings(f *driverFlags) (config.Settings, error) {
	root, err := a.home()
	if err != nil {
		return config.Settings{}, err
	}
	opts := map[string]string{}
	for _, kv := range f.driverOpts {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return config.Settings{}, usageErr(fmt.Errorf("--driver-opt %q: want KEY=VALUE", kv))
		}
		opts[k] = v
	}
	flags := config.Flags{
		Repo: f.repo, Driver: f.driver,
		BuildKitTLSCA: f.tlsCA, BuildKitTLSCert: f.tlsCert, BuildKitTLSKey: f.tlsKey,
		BuildKitInsecure: f.insecure, DockerHost: f.dockerHost, DockerBin: f.dockerBin,
		DockerInsecure: f.dockerInsecure, DriverOpts: opts,
	}
	switch len(f.buildkitAddr) {
	case 0:
	case 1:
		flags.BuildKitAddr = f.buildkitAddr[0]
	default:
		flags.BuildKitPool = f.buildkitAddr
	}
	s, err := config.Resolve(root, flags, os.Getenv)
	if err != nil {
		return s, err
	}
	if s.Cleartext != "" {
		a.warnOnce.Do(func() {
			fmt.Fprintf(a.io.err, "claude-bottle: warning: %s is not encrypted: %s cross it in cleartext; --secret and --ssh are refused and no registry credentials are offered\n",
				s.Cleartext, driver.EngineExposure)
		})
	}
	s.DriverConfig.Logger = a.log
	return s, nil
}
