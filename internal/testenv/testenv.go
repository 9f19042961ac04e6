// Package testenv gives integration tests the real parts they run against:
// the Docker engine, a static busybox, and (in sibling files) a standalone
// buildkitd and a registry on 127.0.0.1. Tests call its Require* helpers,
// which skip with a reason when a part is missing, except under CI=true,
// where a missing part fails the test instead.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where every real part must be
// present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t because a real part is missing, or fails it in CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("CI=true but %s", msg)
	}
	t.Skipf("skipping: %s (set CI=true to make this a failure)", msg)
}

// RequireIntegration skips t in -short mode.
func RequireIntegration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping integration test in -short mode")
	}
}

var (
	dockerOnce sync.Once
	dockerErr  error
)

// DockerCLI is the docker client tests use to inspect the engine: Debian's,
// which matches the engine's API.
func DockerCLI() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

// RequireDocker skips (or, in CI, fails) t unless a Docker engine answers.
func RequireDocker(t testing.TB) {
	t.Helper()
	RequireIntegration(t)
	dockerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, DockerCLI(), "version", "--format", "{{.Server.APIVersion}}").CombinedOutput()
		if err != nil {
			dockerErr = fmt.Errorf("no Docker engine answers (%v: %s)", err, bytes.TrimSpace(out))
		}
	})
	if dockerErr != nil {
		Unavailable(t, "%v", dockerErr)
	}
}

// Docker runs the docker CLI and returns its trimmed stdout, failing t on
// error.
func Docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := DockerOut(args...)
	if err != nil {
		t.Fatalf("docker %v: %v", args, err)
	}
	return out
}

// DockerOut runs the docker CLI and returns its trimmed stdout, or an error
// holding its stderr.
func DockerOut(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(DockerCLI(), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return string(bytes.TrimSpace(stdout.Bytes())), nil
}

// BusyboxPath returns a static busybox binary, skipping (or failing in CI)
// when none is installed. Debian's busybox-static puts it at /bin/busybox.
func BusyboxPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CLAUDE_BOTTLE_TEST_BUSYBOX"), "/bin/busybox", "/usr/bin/busybox"} {
		if p == "" {
			continue
		}
		if out, err := exec.Command("file", "-L", p).Output(); err == nil && !bytes.Contains(out, []byte("statically linked")) && !bytes.Contains(out, []byte("static-pie")) {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	Unavailable(t, "no static busybox (apt-get install busybox-static)")
	return ""
}

// BusyboxContext writes a build context into a new temporary folder: a copy
// of the static busybox as "busybox", plus files (path -> content), and
// returns the folder. Dockerfiles in files start FROM scratch and
// `COPY busybox /bin/busybox` to get a shell.
func BusyboxContext(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	bb, err := os.ReadFile(BusyboxPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	WriteFiles(t, dir, files)
	return dir
}

// WriteFiles writes files (path relative to dir -> content) under dir.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BusyboxDockerfile is the smallest image with a shell: busybox installed
// and linked as sh.
const BusyboxDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
`

// RunImage runs cmd in image with the engine and returns its trimmed stdout.
func RunImage(t testing.TB, image string, cmd ...string) string {
	t.Helper()
	return Docker(t, append([]string{"run", "--rm", image}, cmd...)...)
}

// RemoveImages removes the given images when t ends, ignoring errors.
func RemoveImages(t testing.TB, images ...string) {
	t.Cleanup(func() {
		for _, img := range images {
			DockerOut("image", "rm", "-f", img)
		}
	})
}
