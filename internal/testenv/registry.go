//go:build linux

package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// RegistryBin is Debian's distribution registry (apt-get install
// docker-registry).
const RegistryBin = "/usr/bin/docker-registry"

// Registry is a registry on 127.0.0.1 with no auth and a temporary
// storage root, serving plain HTTP.
type Registry struct {
	// Host is "127.0.0.1:PORT", the prefix of image names pushed there.
	Host string
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	registryOnce sync.Once
	registryErr  error
	shared       *Registry
)

// SharedRegistry returns a registry shared by the tests of the package,
// stopped when the test binary ends (see AtExit).
func SharedRegistry(t testing.TB) *Registry {
	t.Helper()
	RequireIntegration(t)
	requireRegistryBin(t)
	registryOnce.Do(func() {
		shared, registryErr = startRegistry()
		if registryErr == nil {
			AtExit(shared.stop)
		}
	})
	if registryErr != nil {
		t.Fatalf("start registry: %v", registryErr)
	}
	return shared
}

// StartRegistry starts a registry of t's own, stopped when t ends.
func StartRegistry(t testing.TB) *Registry {
	t.Helper()
	RequireIntegration(t)
	requireRegistryBin(t)
	r, err := startRegistry()
	if err != nil {
		t.Fatalf("start registry: %v", err)
	}
	t.Cleanup(r.stop)
	return r
}

func requireRegistryBin(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(RegistryBin); err != nil {
		Unavailable(t, "no registry at %s (apt-get install docker-registry)", RegistryBin)
	}
}

func startRegistry() (*Registry, error) {
	dir, err := os.MkdirTemp("", "cb-registry-")
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, done: make(chan struct{})}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "data"), r.Host)
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	r.cmd = exec.Command(RegistryBin, "serve", confPath)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = childAttrs()
	if err := r.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("run %s: %w", RegistryBin, err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	if err := r.waitReady(10 * time.Second); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// waitReady polls /v2/ until the registry answers 200.
func (r *Registry) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	url := "http://" + r.Host + "/v2/"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.dir, "registry.log"))
			return fmt.Errorf("registry exited before answering: %s", log)
		case <-ctx.Done():
			return fmt.Errorf("registry at %s did not answer %s within %v (last error: %v)", r.Host, url, limit, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *Registry) stop() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.done
	}
	os.RemoveAll(r.dir)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
