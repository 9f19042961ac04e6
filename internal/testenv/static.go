package testenv

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	staticOnce sync.Once
	staticPath string
	staticErr  error
)

// StaticClaudeBottle builds claude-bottle once per test binary with
// CGO_ENABLED=0, as bottles get it (it runs in images with no libc), checks
// that the ELF asks for no interpreter, and returns its path (mode 0755,
// in a folder removed when the test binary ends).
func StaticClaudeBottle(t testing.TB) string {
	t.Helper()
	staticOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			staticErr = err
			return
		}
		dir, err := os.MkdirTemp("", "claude-bottle-static-")
		if err != nil {
			staticErr = err
			return
		}
		AtExit(func() { os.RemoveAll(dir) })
		staticPath = filepath.Join(dir, "claude-bottle")
		cmd := exec.Command("go", "build", "-o", staticPath, "./cmd/claude-bottle")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			staticErr = fmt.Errorf("CGO_ENABLED=0 go build ./cmd/claude-bottle: %v\n%s", err, out)
			return
		}
		staticErr = checkStatic(staticPath)
	})
	if staticErr != nil {
		t.Fatalf("%v", staticErr)
	}
	return staticPath
}

// checkStatic refuses an ELF with a PT_INTERP program header (one that
// needs a dynamic loader).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has PT_INTERP)", path)
		}
	}
	return nil
}
