package sdktest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// BuildPlugin builds the plugin whose main package is pkg, as go build
// names it from the test's working folder ("." for the package under
// test, when that is the plugin's main package), into t.TempDir(), and
// returns the binary's path, for Start. It builds as a plugin is shipped,
// with -ldflags "-s -w" (claude-bottle hashes the whole binary before
// every start), with the Go toolchain that runs the test; Go's build
// cache makes a second build quick.
func BuildPlugin(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plugin-under-test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-ldflags", "-s -w", "-o", out, pkg)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
	}
	return out
}

// goTool is the go command of the toolchain running the test, else go on
// PATH.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}
