//go:build linux

package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildxVersion is the buildx plugin the tests build: new enough for
// --progress=rawjson (v0.12+), and known to drive the Debian 20.10 engine's
// embedded BuildKit through buildx's docker driver.
const BuildxVersion = "v0.23.0"

// buildxBuildTimeout bounds a cold build of buildx (about 2 minutes on 2
// cores with an empty module cache).
const buildxBuildTimeout = 15 * time.Minute

var (
	buildxOnce sync.Once
	buildxCfg  string
	buildxErr  error
)

// BuildxConfig returns a DOCKER_CONFIG folder whose cli-plugins holds the
// docker-buildx plugin at BuildxVersion, shared by the tests of the binary
// and removed when it ends. The plugin is built once per machine from the Go
// module proxy, in its own module folder (it is no dependency of ours: its
// go.mod would move our pinned BuildKit), and cached as
// <user cache>/claude-bottle/buildx-<version>/docker-buildx. When it cannot
// be built the test is Unavailable.
func BuildxConfig(t testing.TB) string {
	t.Helper()
	RequireIntegration(t)
	buildxOnce.Do(func() {
		var bin string
		if bin, buildxErr = BuildxBinary(context.Background(), t.Logf); buildxErr != nil {
			return
		}
		buildxCfg, buildxErr = buildxConfigDir(bin)
	})
	if buildxErr != nil {
		Unavailable(t, "no docker-buildx %s: %v", BuildxVersion, buildxErr)
	}
	return buildxCfg
}

// BuildxBinary returns the cached docker-buildx of BuildxVersion, building
// it first if this machine has none; logf reports how long a build took.
func BuildxBinary(ctx context.Context, logf func(string, ...any)) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the buildx binary: %w", err)
	}
	dir := filepath.Join(cache, "claude-bottle", "buildx-"+BuildxVersion)
	bin := filepath.Join(dir, "docker-buildx")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages may start at once on a fresh
	// machine: one builds, the others wait for it instead of building too.
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(ctx, buildxBuildTimeout)
	defer cancel()
	start := time.Now()
	if err := buildBuildx(ctx, bin); err != nil {
		return "", err
	}
	logf("built docker-buildx %s in %v (now cached at %s)", BuildxVersion, time.Since(start).Round(time.Second), bin)
	return bin, nil
}

// buildBuildx downloads the buildx module and builds its plugin into a
// temporary file beside bin, renamed into place when whole, so that test
// binaries building at once never see half a file.
func buildBuildx(ctx context.Context, bin string) error {
	mod := "github.com/docker/buildx@" + BuildxVersion
	// Outside any module, so our go.mod and go.sum stay untouched; -mod=mod
	// because buildx's module zip has vendor/modules.txt but no vendor tree.
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GO111MODULE=on")
	out, err := goCmd(ctx, os.TempDir(), env, "mod", "download", "-json", mod)
	if err != nil {
		return err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return fmt.Errorf("go mod download %s: no module folder (%v %s)", mod, err, info.Error)
	}
	tmp := fmt.Sprintf("%s.tmp-%d", bin, os.Getpid())
	defer os.Remove(tmp)
	ldflags := "-s -w -X github.com/docker/buildx/version.Version=" + BuildxVersion
	if _, err := goCmd(ctx, info.Dir, env, "build", "-trimpath", "-ldflags", ldflags, "-o", tmp, "./cmd/buildx"); err != nil {
		return err
	}
	return os.Rename(tmp, bin)
}

func goCmd(ctx context.Context, dir string, env []string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %v: %w\n%s", args, err, lastBytes(stderr.Bytes(), 2000))
	}
	return stdout.Bytes(), nil
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// buildxConfigDir makes a DOCKER_CONFIG folder holding only the plugin (a
// symlink to the cached binary), removed when the test binary ends.
func buildxConfigDir(bin string) (string, error) {
	dir, err := os.MkdirTemp("", "claude-bottle-docker-config-")
	if err != nil {
		return "", err
	}
	AtExit(func() { os.RemoveAll(dir) })
	plugins := filepath.Join(dir, "cli-plugins")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		return "", err
	}
	if err := os.Symlink(bin, filepath.Join(plugins, "docker-buildx")); err != nil {
		return "", err
	}
	return dir, nil
}

// lockFile takes an exclusive lock on path, waiting for it, and returns
// its release.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
