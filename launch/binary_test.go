package launch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckStatic checks real binaries of this machine: busybox-static
// (installed by scripts/setup) has no ELF interpreter, ls has one.
func TestCheckStatic(t *testing.T) {
	for _, bin := range []string{"/bin/busybox", "/bin/ls"} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("%s is missing (run make setup): %v", bin, err)
		}
	}
	if err := CheckStatic("/bin/busybox"); err != nil {
		t.Errorf("CheckStatic(busybox) = %v, want nil", err)
	}
	err := CheckStatic("/bin/ls")
	if !errors.Is(err, ErrNotStatic) || !strings.Contains(err.Error(), "CGO_ENABLED=0") || strings.Contains(err.Error(), "\n") {
		t.Errorf("CheckStatic(ls) = %v, want one line saying to build with CGO_ENABLED=0", err)
	}
	script := filepath.Join(t.TempDir(), "claude-bottle")
	os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755)
	if err := CheckStatic(script); !errors.Is(err, ErrNotStatic) {
		t.Errorf("CheckStatic(a script) = %v, want ErrNotStatic", err)
	}
	link := filepath.Join(t.TempDir(), "cb")
	os.Symlink("/bin/busybox", link)
	if got, err := InitBinary(link); err != nil || got != "/bin/busybox" && !strings.HasSuffix(got, "/busybox") {
		t.Errorf("InitBinary(link to busybox) = %q, %v; want the link resolved", got, err)
	}
}
