package sdktest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// checkSecrets builds a RUN that mounts a secret and checks its value
// (by its hash: the value itself must not be in the Dockerfile), while the
// processes on the machine are watched for the value in their arguments
// or environment.
func (c *conformance) checkSecrets(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc to watch processes in")
	}
	value := "sdktest-secret-" + random(t) + random(t)
	sum := sha256.Sum256([]byte(value))
	step := fmt.Sprintf("RUN --mount=type=secret,id=sdktest sh -c 'test \"$(sha256sum < /run/secrets/sdktest | cut -c1-64)\" = %s && sleep 2'\n", hex.EncodeToString(sum[:]))
	req := c.request(t, step)
	req.Secrets, req.SecretSource = []driver.SecretSpec{{ID: "sdktest"}}, secretMap{"sdktest": value}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	w := watchProcesses([]byte(value))
	_, err := c.protocol.Build(ctx, req, nil)
	found := w.stop()
	if err != nil {
		t.Fatalf("a build whose RUN checks the secret it mounts: %v", err)
	}
	for _, f := range found {
		t.Errorf("the secret's value was in %s: pass secrets in files or on stdin, never in arguments or the environment", f)
	}
}

// watcher scans every process's arguments and environment for a value
// until stopped.
type watcher struct {
	value []byte
	done  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	found map[string]bool
}

func watchProcesses(value []byte) *watcher {
	w := &watcher{value: value, done: make(chan struct{}), found: map[string]bool{}}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			w.scan()
			select {
			case <-w.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the watch, after one last scan, and returns where the value
// was seen.
func (w *watcher) stop() []string {
	close(w.done)
	w.wg.Wait()
	w.scan()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for f := range w.found {
		out = append(out, f)
	}
	return out
}

func (w *watcher) scan() {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		for _, file := range []string{"cmdline", "environ"} {
			data, err := os.ReadFile(filepath.Join("/proc", e.Name(), file))
			if err != nil || !bytes.Contains(data, w.value) {
				continue
			}
			what := "the arguments"
			if file == "environ" {
				what = "the environment"
			}
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			w.mu.Lock()
			w.found[fmt.Sprintf("%s of pid %s (%s)", what, e.Name(), bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '}))] = true
			w.mu.Unlock()
		}
	}
}
