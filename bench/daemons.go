package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	bkclient "github.com/moby/buildkit/client"
)

// runcBin is the OCI runtime the bench buildkitd runs steps with.
const runcBin = "/usr/sbin/runc"

// registryBin is Debian's distribution registry.
const registryBin = "/usr/bin/docker-registry"

// daemon is a background process the bench started and must stop.
type daemon struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startDaemon(log string, name string, args ...string) (*daemon, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, and killed with the bench if the bench dies,
	// so that no daemon outlives a run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{cmd: cmd, done: make(chan struct{}), log: log}
	go func() { cmd.Wait(); close(d.done) }()
	return d, nil
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (d *daemon) stop(grace time.Duration) {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(grace):
		d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *daemon) logTail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Buildkitd is the bench's standalone buildkitd: the pinned version, as
// root with the OCI worker (runc), a root folder of its own, a unix socket
// and GC limits large enough for the big workload's edits.
type Buildkitd struct {
	// Addr is its unix:// address.
	Addr string
	dir  string
	d    *daemon
}

// StartBuildkitd starts bin (buildkitd) in a new folder under dir and waits
// until it lists its workers. registries are 127.0.0.1:PORT registries it
// may reach over plain HTTP.
func StartBuildkitd(ctx context.Context, bin, dir string, registries []string) (*Buildkitd, error) {
	if _, err := os.Stat(runcBin); err != nil {
		return nil, fmt.Errorf("no runc at %s: install it (apt-get install runc or make setup)", runcBin)
	}
	bk := &Buildkitd{dir: filepath.Join(dir, "bk")}
	if err := os.MkdirAll(bk.dir, 0o700); err != nil {
		return nil, err
	}
	bk.Addr = "unix://" + filepath.Join(bk.dir, "buildkitd.sock")
	conf := filepath.Join(bk.dir, "buildkitd.toml")
	if err := os.WriteFile(conf, []byte(buildkitdConfig(filepath.Join(bk.dir, "root"), bk.Addr, registries)), 0o600); err != nil {
		return nil, err
	}
	d, err := startDaemon(filepath.Join(bk.dir, "buildkitd.log"), bin, "--config", conf)
	if err != nil {
		return nil, err
	}
	bk.d = d
	if err := bk.waitReady(ctx, 20*time.Second); err != nil {
		bk.Stop()
		return nil, err
	}
	return bk, nil
}

// buildkitdConfig is buildkitd.toml: the GC keeps up to 12 GB so that the
// big workload's edits (200 MB a build) do not set the collector off in the
// middle of timed runs.
func buildkitdConfig(root, addr string, registries []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "root = %q\n\n[grpc]\n  address = [%q]\n", root, addr)
	fmt.Fprintf(&b, `
[worker.oci]
  enabled = true
  binary = %q
  networkMode = "host"
  gc = true
  reservedSpace = "2GB"
  maxUsedSpace = "12GB"

[worker.containerd]
  enabled = false
`, runcBin)
	for _, r := range registries {
		fmt.Fprintf(&b, "\n[registry.%q]\n  http = true\n  insecure = true\n", r)
	}
	return b.String()
}

func (bk *Buildkitd) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c, err := bkclient.New(ctx, bk.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		ws, err := c.ListWorkers(pctx)
		pcancel()
		if err == nil && len(ws) > 0 {
			return nil
		}
		if bk.d.exited() {
			return fmt.Errorf("buildkitd exited while starting:\n%s", bk.d.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("buildkitd at %s not ready within %v (%v):\n%s", bk.Addr, limit, err, bk.d.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops buildkitd and removes its folder, unmounting what it left.
func (bk *Buildkitd) Stop() {
	if bk.d != nil {
		bk.d.stop(10 * time.Second)
	}
	unmountUnder(bk.dir)
	os.RemoveAll(bk.dir)
}

// unmountUnder lazily unmounts whatever is still mounted under dir,
// deepest first, so the folder can be removed.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			mounts = append(mounts, f[4])
		}
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		syscall.Unmount(mounts[i], syscall.MNT_DETACH)
	}
}

// Registry is Debian's docker-registry on 127.0.0.1, no auth, with a
// storage folder of its own.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	dir  string
	d    *daemon
}

// StartRegistry starts a registry in a new folder under dir.
func StartRegistry(ctx context.Context, dir string) (*Registry, error) {
	if _, err := os.Stat(registryBin); err != nil {
		return nil, fmt.Errorf("no registry at %s: install it (apt-get install docker-registry or make setup)", registryBin)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Host: fmt.Sprintf("127.0.0.1:%d", port), dir: filepath.Join(dir, "registry")}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(r.dir, "config.yml")
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n",
		filepath.Join(r.dir, "data"), r.Host)
	if err := os.WriteFile(conf, []byte(yml), 0o600); err != nil {
		return nil, err
	}
	if r.d, err = startDaemon(filepath.Join(r.dir, "registry.log"), registryBin, "serve", conf); err != nil {
		return nil, err
	}
	if err := r.waitReady(ctx, 10*time.Second); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

func (r *Registry) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
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
			err = errors.New(resp.Status)
		}
		if r.d.exited() {
			return fmt.Errorf("registry exited before answering:\n%s", r.d.logTail())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("registry at %s did not answer within %v (%v)", r.Host, limit, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops the registry and removes its folder.
func (r *Registry) Stop() {
	if r.d != nil {
		r.d.stop(5 * time.Second)
	}
	os.RemoveAll(r.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
