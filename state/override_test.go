package state

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestSetOverrideWritesAtomicallyWithModes(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "my-agent")
	if err := b.SetOverride([]byte(validDockerfile)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.Root(), s.StateDir(), b.Dir()} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("folder %s: %v, %v; want mode 0700", d, fi.Mode(), err)
		}
	}
	fi, err := os.Lstat(b.DockerfilePath())
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("override %v, %v; want a regular file, mode 0644", fi.Mode(), err)
	}
	data, ok, err := b.Override()
	if string(data) != validDockerfile || !ok || err != nil {
		t.Fatalf("Override() = %q, %v, %v", data, ok, err)
	}
	noTemps(t, b.Dir())
	noTemps(t, s.StateDir())

	second := validDockerfile + "LABEL v=2\n"
	if err := b.SetOverride([]byte(second)); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := b.Override(); string(data) != second {
		t.Fatalf("second write left %q", data)
	}
	noTemps(t, b.Dir())

	if err := b.ResetOverride(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(b.DockerfilePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reset left the override: %v", err)
	}
	if data, ok, err := b.Override(); data != nil || ok || err != nil {
		t.Fatalf("after reset Override() = %q, %v, %v; want absent and no error", data, ok, err)
	}
	if err := b.ResetOverride(); err != nil {
		t.Errorf("resetting twice: %v", err)
	}
}

func BenchmarkSetOverride(b *testing.B) {
	s := newStore(b)
	bt := mustBottle(b, s, "bench")
	data := []byte(validDockerfile + strings.Repeat("RUN echo step\n", 50))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := bt.SetOverride(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOverrideReadError: an override that exists but cannot be read is an
// error, not "no override" (which would silently build the repo's image).
func TestOverrideReadError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("skipping: root reads a file of mode 0000")
	}
	s := newStore(t)
	b := mustBottle(t, s, "a")
	if err := b.SetOverride([]byte(validDockerfile)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b.DockerfilePath(), 0)
	defer os.Chmod(b.DockerfilePath(), 0o644)
	data, ok, err := b.Override()
	if err == nil || ok || data != nil || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Override() of an unreadable file = %q, %v, %v; want a permission error", data, ok, err)
	}
}
