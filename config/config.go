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
}

// BuildKit holds the BuildKit driver's endpoint settings.
type BuildKit struct {
	Addr     string `toml:"addr"`
	TLSCA    string `toml:"tls_ca"`
	TLSCert  string `toml:"tls_cert"`
	TLSKey   string `toml:"tls_key"`
	Insecure bool   `toml:"insecure"`
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

const knownKeys = "repo, driver, buildkit.{addr,tls_ca,tls_cert,tls_key,insecure}, docker.{host,bin}, launch.{transcript_dir,network,pids_limit,memory,cpus}, dashboard.{listen,tls_cert,tls_key,allow_hosts}, push.name"

// validate checks the values the decoder cannot; data is the file's text,
// to find the line of a bad key.
func (f File) validate(path string, data []byte) error {
	if f.BuildKit.Addr != "" && !hasScheme(f.BuildKit.Addr, "unix://", "tcp://", "docker-container://", "ssh://") {
		return badValue(path, data, "buildkit.addr", fmt.Sprintf("%q: want unix://PATH, tcp://HOST:PORT, docker-container://NAME or ssh://USER@HOST", f.BuildKit.Addr))
	}
	if f.Launch.TranscriptDir != "" && !strings.HasPrefix(f.Launch.TranscriptDir, "/") {
		return badValue(path, data, "launch.transcript_dir", fmt.Sprintf("%q must be an absolute path inside the bottle", f.Launch.TranscriptDir))
	}
	return f.Launch.validate(path, data)
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
