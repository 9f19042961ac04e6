// Package config reads claude-bottle's config file, <root>/config.toml, and
// merges it with the environment and flags: flags over environment over the
// file over defaults.
package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker/go-units"
	"github.com/pelletier/go-toml/v2"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

// ErrConfig classes every problem with the config file or a setting.
var ErrConfig = errors.New("bad configuration")

// FileName is the config file's name inside the state root.
const FileName = "config.toml"

// File is the config file's content. Every key is optional.
type File struct {
	// Repo is the default repo root holding the bottle Dockerfile; a
	// relative path is taken from the config file's folder.
	Repo string `toml:"repo"`
	// Driver is the default build driver.
	Driver    string    `toml:"driver"`
	BuildKit  BuildKit  `toml:"buildkit"`
	Docker    Docker    `toml:"docker"`
	Launch    Launch    `toml:"launch"`
	Dashboard Dashboard `toml:"dashboard"`
	Push      Push      `toml:"push"`
	Egress    Egress    `toml:"egress"`
	// Transcript bounds the copy of the agent's state folder.
	Transcript Transcript `toml:"transcript"`
}

// BuildKit holds the BuildKit driver's endpoint settings: one daemon
// (Addr) or a pool of them (Pool), and the shared registry cache.
type BuildKit struct {
	Addr     string `toml:"addr"`
	TLSCA    string `toml:"tls_ca"`
	TLSCert  string `toml:"tls_cert"`
	TLSKey   string `toml:"tls_key"`
	Insecure bool   `toml:"insecure"`
	// Pool lists the daemons of a pool: each entry an address string, or
	// an inline table {addr, tls_ca, tls_cert, tls_key, server_name} for a
	// member with TLS files of its own (the tls_* keys above apply to the
	// others). Read it with PoolMembers.
	Pool []any `toml:"pool"`
	// Cache is the registry repository of the shared build cache
	// ("registry.internal:5000/claude-bottle/cache"), or "".
	Cache string `toml:"cache"`
}

// Docker holds the Docker engine and CLI settings.
type Docker struct {
	Host string `toml:"host"`
	Bin  string `toml:"bin"`
}

// Launch holds defaults for `claude-bottle launch`.
type Launch struct {
	// TranscriptDir is the agent's state folder inside the bottle, which is
	// snapshotted when the bottle stops.
	TranscriptDir string `toml:"transcript_dir"`
	// Network is the bottles' network: "none" (the default) or "open".
	Network string `toml:"network"`
	// PidsLimit, Memory (like "4g" or "512m") and CPUs bound each bottle;
	// zero or empty keeps claude-bottle's defaults.
	PidsLimit int64   `toml:"pids_limit"`
	Memory    string  `toml:"memory"`
	CPUs      float64 `toml:"cpus"`
	// ResumeCommand is what a bottle runs, with sh -c, when launch
	// restarts it on a new image after an approved request; empty keeps
	// launch's default (claude --continue).
	ResumeCommand string `toml:"resume_command"`
}

// Dashboard holds the settings of `claude-bottle dashboard`.
type Dashboard struct {
	// Listen is the address to listen on (host:port).
	Listen string `toml:"listen"`
	// TLSCert and TLSKey are the certificate and key a non-loopback
	// address needs; a relative path is taken from the config file's
	// folder.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// AllowHosts are more names the dashboard may be reached by.
	AllowHosts []string `toml:"allow_hosts"`
}

// Push holds the settings of `claude-bottle build --push`.
type Push struct {
	// Name is the push name template: the registry name each bottle's
	// image is pushed as, with {slug}, {image} and {tag} filled in per
	// bottle (see bottle.PushName). It must name a registry host; there is
	// no default, so nothing is ever pushed to Docker Hub unasked.
	Name string `toml:"name"`
}

// Egress holds what bottles may reach through the host's proxy.
type Egress struct {
	// Allow lists more destinations every bottle may reach: "host" (ports
	// 80 and 443) or "host:port". Only a host:port entry reaches a
	// private or loopback address; link-local and metadata addresses are
	// never reached.
	Allow []string `toml:"allow"`
	// AnthropicURL is where the host proxy sends the bottles' Anthropic
	// API calls (default https://api.anthropic.com): an LLM gateway, or a
	// test server.
	AnthropicURL string `toml:"anthropic_url"`
}

// Load reads the config file at path. A missing file is an empty config,
// not an error; an unknown key or a value of the wrong type is an error
// that names the file, the line and the key. A file that is a symbolic
// link, that others can write or that is not yours is refused (see
// readSafe).
func Load(path string) (File, error) {
	var f File
	data, ok, err := readSafe(path)
	if err != nil || !ok {
		return f, err
	}
	dec := toml.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, describe(path, err)
	}
	if err := f.validate(path, data); err != nil {
		return File{}, err
	}
	return f, nil
}

// describe turns a go-toml error into one line naming file, line and key.
func describe(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		row, _ := e.Position()
		return fmt.Errorf("%w: %s:%d: unknown key %q; known keys: %s", ErrConfig, path, row, strings.Join(e.Key(), "."), knownKeys)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		if key != "" {
			return fmt.Errorf("%w: %s:%d: key %q: %s", ErrConfig, path, row, key, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return fmt.Errorf("%w: %s:%d: %s", ErrConfig, path, row, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
}

const knownKeys = "repo, driver, buildkit.{addr,tls_ca,tls_cert,tls_key,insecure,pool,cache}, docker.{host,bin}, launch.{transcript_dir,network,pids_limit,memory,cpus,resume_command}, dashboard.{listen,tls_cert,tls_key,allow_hosts}, push.name, egress.{allow,anthropic_url}, transcript.{max_bytes,max_entries,max_depth,timeout}"

// validate checks the values the decoder cannot; data is the file's text,
// to find the line of a bad key.
func (f File) validate(path string, data []byte) error {
	if f.BuildKit.Addr != "" && !hasScheme(f.BuildKit.Addr, "unix://", "tcp://", "docker-container://", "ssh://") {
		return badValue(path, data, "buildkit.addr", fmt.Sprintf("%q: want unix://PATH, tcp://HOST:PORT, docker-container://NAME or ssh://USER@HOST", f.BuildKit.Addr))
	}
	if err := f.BuildKit.validate(path, data); err != nil {
		return err
	}
	if f.Launch.TranscriptDir != "" {
		if err := CheckTranscriptDir(f.Launch.TranscriptDir); err != nil {
			return badValue(path, data, "launch.transcript_dir", err.Error())
		}
	}
	if err := f.Transcript.validate(path, data); err != nil {
		return err
	}
	if err := f.Launch.validate(path, data); err != nil {
		return err
	}
	return f.Egress.validate(path, data)
}

// validate checks the egress keys' values.
func (e Egress) validate(path string, data []byte) error {
	if _, err := allow.ParseRules("", e.Allow); err != nil {
		return badValue(path, data, "egress.allow", strings.TrimPrefix(err.Error(), ": "))
	}
	if e.AnthropicURL != "" {
		if _, err := allow.ParseUpstream(e.AnthropicURL); err != nil {
			return badValue(path, data, "egress.anthropic_url", err.Error())
		}
	}
	return nil
}

// validate checks the launch keys' values.
func (l Launch) validate(path string, data []byte) error {
	if l.Network != "" && l.Network != "none" && l.Network != "open" {
		return badValue(path, data, "launch.network", fmt.Sprintf("%q: want \"none\" (no network, only the bottle socket) or \"open\" (the engine's default network)", l.Network))
	}
	if l.PidsLimit < 0 {
		return badValue(path, data, "launch.pids_limit", fmt.Sprintf("%d: want a positive number of processes", l.PidsLimit))
	}
	if l.Memory != "" {
		if _, err := ParseMemory(l.Memory); err != nil {
			return badValue(path, data, "launch.memory", err.Error())
		}
	}
	if l.CPUs < 0 {
		return badValue(path, data, "launch.cpus", fmt.Sprintf("%v: want a positive number of cores", l.CPUs))
	}
	if (l.ResumeCommand != "" && strings.TrimSpace(l.ResumeCommand) == "") || strings.ContainsRune(l.ResumeCommand, 0) {
		return badValue(path, data, "launch.resume_command", "want a shell command, such as \"claude --continue\"")
	}
	return nil
}

// ParseMemory reads a memory size as docker's --memory takes it: a
// number of bytes with an optional unit, such as 4g, 512m or 1.5GiB.
func ParseMemory(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("memory %q: want a size such as 4g or 512m", s)
	}
	return n, nil
}

func hasScheme(addr string, schemes ...string) bool {
	for _, s := range schemes {
		if strings.HasPrefix(addr, s) {
			return true
		}
	}
	return false
}
