package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWritesSweepOnlyStaleLeftovers: a crashed write's temporary file and
// half-unpacked transcript are removed by the next write once they are
// old, and a young one (perhaps another process's write in progress) is
// left alone.
func TestWritesSweepOnlyStaleLeftovers(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bottle("sweep")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetOverride([]byte("FROM scratch\n")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * staleAfter)
	oldTmp := filepath.Join(b.Dir(), ".Dockerfile.tmp-123")
	oldDir := filepath.Join(b.Dir(), ".transcript-new-456")
	youngTmp := filepath.Join(b.Dir(), ".Dockerfile.tmp-789")
	os.WriteFile(oldTmp, []byte("half"), 0o600)
	os.MkdirAll(filepath.Join(oldDir, "sub"), 0o700)
	os.WriteFile(youngTmp, []byte("in progress"), 0o600)
	for _, p := range []string{oldTmp, oldDir} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetOverride([]byte("FROM scratch\nENV A=1\n")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{oldTmp, oldDir} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("stale %s was not swept (%v)", filepath.Base(p), err)
		}
	}
	if _, err := os.Lstat(youngTmp); err != nil {
		t.Errorf("a young temporary file was removed: %v", err)
	}
}
