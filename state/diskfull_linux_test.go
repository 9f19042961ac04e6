package state

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fullDisk mounts a 64 KiB tmpfs for the test, so writes run out of space
// for real. It skips when it cannot (not root, or no mount permission).
func fullDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting a small tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=64k,mode=0700"); err != nil {
		t.Skipf("skipping: cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// dockerfileOfSize returns a valid Dockerfile of about n bytes.
func dockerfileOfSize(n int, tag string) []byte {
	var b bytes.Buffer
	b.WriteString("FROM scratch\n")
	for b.Len() < n {
		b.WriteString("# " + tag + " padding padding padding padding padding padding\n")
	}
	return b.Bytes()
}

func wantDiskFull(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v is not ENOSPC", err)
	}
	if !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "free some space") {
		t.Errorf("error %q does not say the disk is full and what to do", err)
	}
}

func TestDiskFull(t *testing.T) {
	s, err := Open(filepath.Join(fullDisk(t), "home"))
	if err != nil {
		t.Fatal(err)
	}
	b := mustBottle(t, s, "a")
	small := dockerfileOfSize(6<<10, "old")
	if err := b.SetOverride(small); err != nil {
		t.Fatal(err)
	}
	oldSnap := makeTar(t, entry{name: "t/notes", typ: tar.TypeReg, body: strings.Repeat("n", 4<<10)})
	if _, err := b.SaveTranscript(bytes.NewReader(oldSnap), "first", true); err != nil {
		t.Fatal(err)
	}
	before := tree(t, s.Root())

	t.Run("Dockerfile", func(t *testing.T) {
		wantDiskFull(t, b.SetOverride(dockerfileOfSize(60<<10, "new")))
		if data, ok, err := b.Override(); !ok || err != nil || !bytes.Equal(data, small) {
			t.Fatalf("after a full disk the override is %d bytes (%v, %v), want the old %d whole", len(data), ok, err, len(small))
		}
	})
	t.Run("transcript", func(t *testing.T) {
		big := makeTar(t,
			entry{name: "t/a", typ: tar.TypeReg, body: strings.Repeat("a", 30<<10)},
			entry{name: "t/b", typ: tar.TypeReg, body: strings.Repeat("b", 30<<10)},
		)
		_, err := b.SaveTranscript(bytes.NewReader(big), "second", true)
		wantDiskFull(t, err)
		if info, ok, err := b.Snapshot(); !ok || err != nil || info.Source != "first" {
			t.Fatalf("after a full disk Snapshot() = %+v, %v, %v; want the first", info, ok, err)
		}
	})
	if after := tree(t, s.Root()); after != before {
		t.Fatalf("failed writes on a full disk changed the store:\n%s\nwas\n%s", after, before)
	}
	// Nothing was left behind to hold the space: a small write fits again.
	if err := b.SetOverride(dockerfileOfSize(6<<10, "later")); err != nil {
		t.Fatalf("a small write after the failures: %v", err)
	}
}
