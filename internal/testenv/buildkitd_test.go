//go:build linux

package testenv

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBuildkitdLifecycle starts a fresh buildkitd that trusts a fresh
// registry, kills it, and restarts it on the same address and root.
func TestBuildkitdLifecycle(t *testing.T) {
	reg := StartRegistry(t)
	resp, err := http.Get("http://" + reg.Host + "/v2/_catalog")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("registry catalog: %v %v", resp, err)
	}
	resp.Body.Close()

	bk := StartBuildkitd(t, BuildkitdOptions{Registries: []string{reg.Host}})
	conf, _ := os.ReadFile(bk.conf)
	for _, want := range []string{`[registry."` + reg.Host + `"]`, "maxUsedSpace", RuncBin} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("buildkitd.toml lacks %q:\n%s", want, conf)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := bk.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ListWorkers(ctx); err != nil {
		t.Fatalf("ListWorkers: %v", err)
	}
	bk.Kill()
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = c.ListWorkers(pctx)
	pcancel()
	if err == nil {
		t.Fatal("a killed buildkitd still answers")
	}
	start := time.Now()
	if err := bk.Restart(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("restart took %v, want under 5s", d)
	}
	if _, err := c.ListWorkers(ctx); err != nil {
		t.Errorf("ListWorkers after restart: %v", err)
	}
}

// TestBuildkitdTCP starts a buildkitd on 127.0.0.1 with mutual TLS.
func TestBuildkitdTCP(t *testing.T) {
	bk := StartBuildkitd(t, BuildkitdOptions{TCP: true})
	if !strings.HasPrefix(bk.Addr, "tcp://127.0.0.1:") || bk.Certs == nil {
		t.Fatalf("addr %q, certs %v", bk.Addr, bk.Certs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := bk.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ListWorkers(ctx); err != nil {
		t.Fatalf("ListWorkers over mTLS: %v", err)
	}
}
