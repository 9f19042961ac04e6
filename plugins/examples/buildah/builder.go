package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// builder is the buildah driver.
type builder struct {
	bin        string
	root       string
	runroot    string
	storage    string
	isolation  string
	dockerHost string
	log        *slog.Logger
}

var knownOpts = map[string]bool{"buildah": true, "root": true, "runroot": true, "storage-driver": true, "isolation": true}

func newBuilder(cfg driver.Config) (*builder, error) {
	for k := range cfg.Opts {
		if !knownOpts[k] {
			return nil, fmt.Errorf("%w: unknown driver option %q for buildah (known: buildah, root, runroot, storage-driver, isolation)", driver.ErrInvalidRequest, k)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	base := filepath.Join(cache, "claude-bottle-buildah")
	b := &builder{
		bin:        opt(cfg.Opts, "buildah", "buildah"),
		root:       opt(cfg.Opts, "root", filepath.Join(base, "storage")),
		runroot:    opt(cfg.Opts, "runroot", filepath.Join(base, "run")),
		storage:    opt(cfg.Opts, "storage-driver", "vfs"),
		isolation:  opt(cfg.Opts, "isolation", "chroot"),
		dockerHost: cfg.DockerHost,
		log:        cfg.Log(),
	}
	switch b.isolation {
	case "chroot", "oci", "rootless":
	default:
		return nil, fmt.Errorf("%w: isolation=%q: want chroot, oci or rootless", driver.ErrInvalidRequest, b.isolation)
	}
	return b, nil
}

func opt(opts map[string]string, k, def string) string {
	if v := opts[k]; v != "" {
		return v
	}
	return def
}

// globalArgs are buildah's storage flags, which every subcommand needs.
func (b *builder) globalArgs() []string {
	return []string{"--root", b.root, "--runroot", b.runroot, "--storage-driver", b.storage}
}

// Info describes the driver.
func (b *builder) Info(ctx context.Context) (driver.Info, error) {
	endpoint := fmt.Sprintf("%s (%s storage at %s)", b.bin, b.storage, b.root)
	if v, err := b.buildahVersion(ctx); err == nil {
		endpoint = fmt.Sprintf("buildah %s (%s storage at %s)", v, b.storage, b.root)
	}
	return driver.Info{
		Name: "buildah", Version: version, Endpoint: endpoint,
		Features: map[driver.Feature]bool{
			driver.FeatureSecrets:    true,
			driver.FeatureSSH:        true,
			driver.FeatureDockerLoad: true,
		},
		Notes: []string{
			"no push, cache import/export, extra outputs or per-stage no-cache",
			"images load into the Docker engine through buildah's docker-daemon transport",
		},
	}, nil
}

// Check verifies that buildah runs and that the Docker engine answers.
func (b *builder) Check(ctx context.Context) error {
	if _, err := b.buildahVersion(ctx); err != nil {
		return err
	}
	return b.pingEngine(ctx)
}

func (b *builder) buildahVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.bin, "version", "--json").Output()
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("%w: buildah is not installed (%v); install it (Debian: apt-get install buildah) or point the driver at it with --driver-opt buildah=PATH", driver.ErrUnsupported, err)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s version: %v", driver.ErrUnsupported, b.bin, err)
	}
	return parseVersion(out), nil
}

// parseVersion picks the version out of `buildah version --json`.
func parseVersion(out []byte) string {
	var v struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Version == "" {
		return "unknown"
	}
	return v.Version
}
