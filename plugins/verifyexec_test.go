package plugins

import (
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenVerifiedRunsTheFileItChecked swaps the file at the path after
// the check: the child started through the descriptor runs the checked
// content.
func TestOpenVerifiedRunsTheFileItChecked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "plugin")
	good := []byte("#!/bin/sh\necho good\n")
	os.WriteFile(p, good, 0o755)
	sum := sha256.Sum256(good)
	f, err := openVerified(p, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evil := filepath.Join(dir, "evil")
	os.WriteFile(evil, []byte("#!/bin/sh\necho evil\n"), 0o755)
	if err := os.Rename(evil, p); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p)
	cmd.Path, cmd.ExtraFiles = execPath, []*os.File{f}
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "good" {
		t.Fatalf("ran %q (%v), want the checked file's output", out, err)
	}
	if _, err := openVerified(p, sum[:]); !errors.Is(err, ErrChecksum) {
		t.Errorf("the swapped file: %v, want ErrChecksum", err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	if _, err := openVerified(link, sum[:]); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("a symbolic link: %v", err)
	}
}
