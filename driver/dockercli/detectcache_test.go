package dockercli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestDetectionCacheRoundTripAndInvalidation(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	bin := filepath.Join(t.TempDir(), "docker")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	b := &Builder{bin: bin, cfg: driver.Config{}}

	key := b.detectKey(bin)
	if _, ok := loadDetection(key); ok {
		t.Fatal("an empty cache returned a detection")
	}
	want := &detection{mode: ModeBuildKit, path: bin, client: clientInfo{Version: "20.10.24", APIVersion: "1.41"}}
	saveDetection(key, want)
	got, ok := loadDetection(key)
	if !ok || *got != *want {
		t.Fatalf("loadDetection = %+v, %v; want %+v", got, ok, want)
	}

	// Installing a buildx plugin must change the key, so the next command
	// detects buildx instead of reusing "no buildx".
	os.MkdirAll(filepath.Join(cfgDir, "cli-plugins"), 0o755)
	os.WriteFile(filepath.Join(cfgDir, "cli-plugins", "docker-buildx"), []byte("x"), 0o755)
	if b.detectKey(bin) == key {
		t.Error("the key did not change when a buildx plugin appeared")
	}
	t.Setenv("DOCKER_CONTEXT", "other")
	if b.detectKey(bin) == key {
		t.Error("the key did not change with DOCKER_CONTEXT")
	}
}

func TestDetectionCacheExpires(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	d := &detection{mode: ModeLegacy, path: "/usr/bin/docker", client: clientInfo{Version: "20.10.24"}}
	saveDetection("k", d)
	p, _ := detectCachePath("k")
	old := time.Now().Add(-2 * detectCacheTTL)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(string(data[:len(data)-1])+`,"saved":"`+old.Format(time.RFC3339Nano)+`"}`), 0o600)
	if _, ok := loadDetection("k"); ok {
		t.Error("a detection older than the TTL was used")
	}
}

// TestDetectionCachePathIsNeverRun: a cache file edited to name another
// binary does not change the binary the driver runs.
func TestDetectionCachePathIsNeverRun(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	bin := filepath.Join(t.TempDir(), "docker")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	b := &Builder{bin: bin, cfg: driver.Config{}}
	key := b.detectKey(bin)
	saveDetection(key, &detection{mode: ModeLegacy, path: "/tmp/evil-docker", client: clientInfo{Version: "20.10.24"}})
	d, err := b.cachedOrRun(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.path != bin {
		t.Errorf("the driver would run %q from the cache, want the looked-up %q", d.path, bin)
	}
}
