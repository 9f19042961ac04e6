package dockercli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
)

// Detection runs three docker commands (20-150 ms) and each claude-bottle
// command starts a fresh driver process, so its result is kept on disk
// between commands, keyed by everything that can change it: the docker
// binary, the folders the CLI searches for plugins, the buildx builder
// choice and the variables that pick a context or config. Any change gives a
// new key; a kept result is used for at most detectCacheTTL all the same.
const detectCacheTTL = time.Hour

// cachedDetection is the on-disk form of a detection. Path is kept for
// reading by people only: the binary run is always the one looked up anew.
type cachedDetection struct {
	Mode      Mode       `json:"mode"`
	Path      string     `json:"path"`
	Client    clientInfo `json:"client"`
	Buildx    string     `json:"buildx,omitempty"`
	BxBuilder string     `json:"bx_builder,omitempty"`
	BxDriver  string     `json:"bx_driver,omitempty"`
	Saved     time.Time  `json:"saved"`
}

// pluginDirs are where the docker CLI looks for plugins, besides
// $DOCKER_CONFIG/cli-plugins.
var pluginDirs = []string{
	"/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
	"/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins",
}

// detectKey fingerprints what detection depends on; "" means do not cache.
func (b *Builder) detectKey(path string) string {
	cfgDir := os.Getenv("DOCKER_CONFIG")
	if cfgDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cfgDir = filepath.Join(home, ".docker")
	}
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00", path, b.cfg.DockerHost, os.Getenv("DOCKER_HOST"), os.Getenv("DOCKER_CONTEXT"), os.Getenv("BUILDX_BUILDER"))
	// buildx rewrites buildx/current on every build, so the two small
	// config files count by content, the rest by size and mtime.
	for _, p := range []string{filepath.Join(cfgDir, "config.json"), filepath.Join(cfgDir, "buildx", "current")} {
		data, _ := os.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%x\x00", p, sha256.Sum256(data))
	}
	stamps := []string{path, filepath.Join(cfgDir, "cli-plugins"), filepath.Join(cfgDir, "cli-plugins", "docker-buildx")}
	for _, d := range pluginDirs {
		stamps = append(stamps, d, filepath.Join(d, "docker-buildx"))
	}
	for _, p := range stamps {
		if fi, err := os.Stat(p); err == nil {
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, fi.Size(), fi.ModTime().UnixNano())
		} else {
			fmt.Fprintf(h, "%s\x00-\x00", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// detectCachePath returns the file a detection with key is kept in.
func detectCachePath(key string) (string, bool) {
	dir, err := os.UserCacheDir()
	if err != nil || key == "" {
		return "", false
	}
	return filepath.Join(dir, "claude-bottle", "dockercli", key+".json"), true
}

// loadDetection returns a kept detection for key that is still fresh.
func loadDetection(key string) (*detection, bool) {
	p, ok := detectCachePath(key)
	if !ok {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	var c cachedDetection
	if json.Unmarshal(data, &c) != nil || time.Since(c.Saved) > detectCacheTTL || c.Path == "" {
		return nil, false
	}
	return &detection{mode: c.Mode, path: c.Path, client: c.Client, buildx: c.Buildx, bxBuilder: c.BxBuilder, bxDriver: c.BxDriver}, true
}

// saveDetection keeps d under key, atomically; failing to is no error (the
// next command detects again).
func saveDetection(key string, d *detection) {
	p, ok := detectCachePath(key)
	if !ok {
		return
	}
	data, _ := json.Marshal(cachedDetection{Mode: d.mode, Path: d.path, Client: d.client, Buildx: d.buildx, BxBuilder: d.bxBuilder, BxDriver: d.bxDriver, Saved: time.Now()})
	if os.MkdirAll(filepath.Dir(p), 0o700) == nil {
		atomicfile.WriteFile(p, data, 0o600)
	}
}
