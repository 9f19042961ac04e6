package config

import (
	"fmt"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Env is how the config reads the environment; tests pass a map's lookup.
type Env func(key string) string

// Flags are the values given on the command line; empty means not given.
type Flags struct {
	Repo         string
	Driver       string
	BuildKitAddr string
	// BuildKitPool are the addresses of --buildkit-addr given twice or
	// more: a pool, which replaces the config file's.
	BuildKitPool     []string
	BuildKitTLSCA    string
	BuildKitTLSCert  string
	BuildKitTLSKey   string
	BuildKitInsecure bool
	DockerHost       string
	DockerBin        string
	// DockerInsecure allows a Docker engine reached over plain TCP
	// (--docker-insecure); without it one is refused.
	DockerInsecure bool
	DriverOpts     map[string]string
}

// Settings are the merged values a command runs with.
type Settings struct {
	// Repo is the repo root, or "" when none was named anywhere (the
	// default bottle context is used then).
	Repo string
	// RepoFrom says where Repo came from: "--repo", "$CLAUDE_BOTTLE_REPO",
	// the config file's path, or "".
	RepoFrom string
	// Driver is the chosen driver, or "" to pick the default; DriverFrom
	// says where it was named ("--driver", "$CLAUDE_BOTTLE_DRIVER" or the
	// config file's position).
	Driver     string
	DriverFrom string
	// DriverConfig is what the driver is made with.
	DriverConfig driver.Config
	// TranscriptDir is the agent's state folder inside a bottle.
	TranscriptDir string
	// ResumeCommand is the config file's launch.resume_command, or "".
	ResumeCommand string
	// Transcript bounds the copy of that folder ([transcript]).
	Transcript TranscriptBounds
	// Network is the bottles' network from the config file: "" (the
	// default, none), "none" or "open".
	Network string
	// Limits are the bottles' limits from the config file; zero fields
	// keep claude-bottle's defaults.
	Limits Limits
	// Dashboard is the config file's [dashboard] table, its paths made
	// absolute.
	Dashboard Dashboard
	// PushName is the config file's push name template ([push] name), or
	// ""; PushNameFrom names where it is set, for messages about it.
	PushName     string
	PushNameFrom string
	// Egress is the config file's [egress] table: the destinations every
	// bottle may reach, and where Anthropic API calls go.
	Egress Egress
	// Pool are the BuildKit daemons of a pool, each with its TLS files
	// resolved, or nil for one daemon (DriverConfig.BuildKitAddr);
	// PoolFrom says where the pool was named.
	Pool     []PoolMember
	PoolFrom string
	// Cache is the shared registry cache's repository ([buildkit] cache),
	// or "".
	Cache string
	// Cleartext names the connection that carries the bottle or its
	// builds unencrypted, allowed by --docker-insecure or
	// --buildkit-insecure ("" when none does), for the warning every
	// command shows then.
	Cleartext string
}

// Limits are a bottle's resource limits as the config file sets them.
type Limits struct {
	Pids   int64
	Memory int64 // bytes
	CPUs   float64
}

// DefaultTranscriptDir is where Claude Code keeps its state in the default
// bottle image.
const DefaultTranscriptDir = "/home/node/.claude"

// Resolve merges flags over env over the file at <root>/config.toml.
func Resolve(root string, flags Flags, env Env) (Settings, error) {
	path := filepath.Join(root, FileName)
	f, err := Load(path)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{TranscriptDir: first(f.Launch.TranscriptDir, DefaultTranscriptDir), Dashboard: f.Dashboard}
	for _, p := range []*string{&s.Dashboard.TLSCert, &s.Dashboard.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p) // the file's relative path is the file's
		}
	}
	s.Network, s.ResumeCommand = f.Launch.Network, f.Launch.ResumeCommand
	s.Egress = f.Egress
	s.Transcript = f.Transcript.bounds()
	s.Limits = Limits{Pids: f.Launch.PidsLimit, CPUs: f.Launch.CPUs}
	if f.Launch.Memory != "" {
		s.Limits.Memory, _ = ParseMemory(f.Launch.Memory) // checked by Load
	}
	if f.Push.Name != "" {
		s.PushName, s.PushNameFrom = f.Push.Name, Position(path, "push.name")
	}
	s.Repo, s.RepoFrom = firstFrom(
		[2]string{flags.Repo, "--repo"},
		[2]string{env("CLAUDE_BOTTLE_REPO"), "$CLAUDE_BOTTLE_REPO"},
		[2]string{f.Repo, path},
	)
	if s.RepoFrom == path && !filepath.IsAbs(s.Repo) {
		// The file's relative path is the file's, not the current folder's.
		s.Repo = filepath.Join(root, s.Repo)
	}
	if s.Repo != "" {
		if s.Repo, err = filepath.Abs(s.Repo); err != nil {
			return Settings{}, err
		}
	}
	s.Driver, s.DriverFrom = firstFrom(
		[2]string{flags.Driver, "--driver"},
		[2]string{env("CLAUDE_BOTTLE_DRIVER"), "$CLAUDE_BOTTLE_DRIVER"},
		[2]string{f.Driver, path},
	)
	if s.DriverFrom == path {
		s.DriverFrom = Position(path, "driver")
	}
	s.DriverConfig = driver.Config{
		BuildKitAddr: first(flags.BuildKitAddr, env("BUILDKIT_HOST"), f.BuildKit.Addr),
		BuildKitTLS: driver.TLSConfig{
			CA:   first(flags.BuildKitTLSCA, f.BuildKit.TLSCA),
			Cert: first(flags.BuildKitTLSCert, f.BuildKit.TLSCert),
			Key:  first(flags.BuildKitTLSKey, f.BuildKit.TLSKey),
		},
		BuildKitInsecure: flags.BuildKitInsecure || f.BuildKit.Insecure,
		DockerHost:       first(flags.DockerHost, env("DOCKER_HOST"), f.Docker.Host),
		DockerBin:        first(flags.DockerBin, f.Docker.Bin),
		Opts:             flags.DriverOpts,
	}
	if s.Pool, s.PoolFrom, err = resolvePool(flags, env, f, s.DriverConfig.BuildKitTLS, path); err != nil {
		return Settings{}, err
	}
	s.Cache = f.BuildKit.Cache
	host := s.DriverConfig.DockerHost
	if driver.EngineCleartext(host, env) && !flags.DockerInsecure {
		return Settings{}, fmt.Errorf("%w: the Docker engine at %s is plain TCP, through which %s would cross the network in cleartext; "+
			"use TLS (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH), ssh:// or a unix socket, or, on a trusted network, pass --docker-insecure",
			ErrConfig, host, driver.EngineExposure)
	}
	s.Cleartext = s.DriverConfig.Cleartext(env)
	return s, nil
}

// MemberConfig is the driver config of pool member m: the resolved
// config with m's address and TLS files.
func (s Settings) MemberConfig(m PoolMember) driver.Config {
	c := s.DriverConfig
	c.BuildKitAddr, c.BuildKitTLS = m.Addr, m.TLS
	return c
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstFrom(pairs ...[2]string) (string, string) {
	for _, p := range pairs {
		if p[0] != "" {
			return p[0], p[1]
		}
	}
	return "", ""
}
