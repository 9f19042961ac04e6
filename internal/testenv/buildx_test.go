//go:build linux

package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildxConfig checks that the DOCKER_CONFIG it returns gives the
// docker CLI a working buildx plugin of the pinned version.
func TestBuildxConfig(t *testing.T) {
	cfg := BuildxConfig(t)
	cmd := exec.Command(DockerCLI(), "buildx", "version")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker buildx version with DOCKER_CONFIG=%s: %v\n%s", cfg, err, out)
	}
	if !strings.Contains(string(out), BuildxVersion) {
		t.Errorf("docker buildx version = %q, want %s", out, BuildxVersion)
	}
	if _, err := os.Stat(filepath.Join(cfg, "cli-plugins", "docker-buildx")); err != nil {
		t.Error(err)
	}
}
