package state

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSubfolderNamesMustBePlain(t *testing.T) {
	b := mustBottle(t, newStore(t), "demo")
	for _, bad := range []string{"", ".", "..", "a/b", "../x", `a\b`, "a\x00b"} {
		if _, err := b.SubdirPath(bad); err == nil {
			t.Errorf("SubdirPath(%q) accepted", bad)
		}
		if err := b.WriteFile("requests", bad, []byte("x")); err == nil {
			t.Errorf("WriteFile(requests, %q) accepted", bad)
		}
		if _, err := b.Lock(context.Background(), bad); err == nil {
			t.Errorf("Lock(%q) accepted", bad)
		}
	}
}

func TestWriteReadListFiles(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "demo")
	if files, err := b.ListFiles("requests", ".json"); err != nil || files != nil {
		t.Fatalf("ListFiles on nothing = %v, %v", files, err)
	}
	if tree(t, s.Root()) != "<absent>" {
		t.Fatal("listing wrote something")
	}
	if _, err := b.ReadFile("requests", "a.json", 100); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadFile of nothing: %v, want ErrNotExist", err)
	}
	for _, n := range []string{"b.json", "a.json", "c.txt"} {
		if err := b.WriteFile("requests", n, []byte(n)); err != nil {
			t.Fatal(err)
		}
	}
	dir, _ := b.SubdirPath("requests")
	for _, d := range []string{b.Dir(), dir} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a 0700 folder", d, fi.Mode(), err)
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "a.json"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	// Hidden files (locks, temporary files) are never listed.
	os.WriteFile(filepath.Join(dir, ".x.json.tmp-1"), nil, 0o600)
	files, err := b.ListFiles("requests", ".json")
	if err != nil || len(files) != 2 || files[0].Name != "a.json" || files[1].Name != "b.json" || files[0].Size != 6 {
		t.Fatalf("ListFiles = %+v, %v", files, err)
	}
	data, err := b.ReadFile("requests", "a.json", 6)
	if err != nil || string(data) != "a.json" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
	if _, err := b.ReadFile("requests", "a.json", 5); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile over the limit: %v, want ErrTooLarge", err)
	}
}

func TestFilesRefuseLinksAndForeignModes(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "demo")
	if err := b.WriteFile("requests", "a.json", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	dir, _ := b.SubdirPath("requests")
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "link.json"))
	if _, err := b.ReadFile("requests", "link.json", 100); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile through a link: %v, want ErrUnsafe", err)
	}
	if err := b.WriteFile("requests", "link.json", []byte("x")); !errors.Is(err, ErrUnsafe) {
		t.Errorf("WriteFile over a link: %v, want ErrUnsafe", err)
	}
	if data, _ := os.ReadFile(outside); string(data) != "secret" {
		t.Error("the link's target was changed")
	}
	os.Chmod(filepath.Join(dir, "a.json"), 0o666)
	if _, err := b.ReadFile("requests", "a.json", 100); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile of a world-writable file: %v, want ErrUnsafe", err)
	}
	os.Chmod(dir, 0o777)
	if _, err := b.ListFiles("requests", ".json"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ListFiles of a world-writable folder: %v, want ErrUnsafe", err)
	}
	os.Chmod(dir, 0o700)
	os.RemoveAll(dir)
	os.Symlink(t.TempDir(), dir)
	if _, err := b.EnsureSubdir("requests"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("EnsureSubdir on a link: %v, want ErrUnsafe", err)
	}
}

func TestEnsureSubdirSweepsOldTemporaryFiles(t *testing.T) {
	b := mustBottle(t, newStore(t), "demo")
	dir, err := b.EnsureSubdir("requests")
	if err != nil {
		t.Fatal(err)
	}
	old, young := filepath.Join(dir, ".a.json.tmp-1"), filepath.Join(dir, ".b.json.tmp-2")
	os.WriteFile(old, nil, 0o600)
	os.WriteFile(young, nil, 0o600)
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)
	if _, err := b.EnsureSubdir("requests"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old); !errors.Is(err, os.ErrNotExist) {
		t.Error("an old temporary file was kept")
	}
	if _, err := os.Lstat(young); err != nil {
		t.Error("a young temporary file (a write in progress?) was removed")
	}
}

func TestLockExcludesAndHonoursContext(t *testing.T) {
	b := mustBottle(t, newStore(t), "demo")
	unlock, err := b.Lock(context.Background(), ".test.lock")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.TryLock(".test.lock"); ok || err != nil {
		t.Fatalf("TryLock while held = %v, %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.Lock(ctx, ".test.lock"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock while held: %v, want the context's error", err)
	}
	unlock()
	u2, ok, err := b.TryLock(".test.lock")
	if !ok || err != nil {
		t.Fatalf("TryLock after unlock = %v, %v", ok, err)
	}
	u2()

	// Many goroutines in one process: one at a time.
	var inside, max atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u, err := b.Lock(context.Background(), ".test.lock")
			if err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n > max.Load() {
				max.Store(n)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			u()
		}()
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Errorf("%d holders at once", max.Load())
	}
}

// TestTryLockTransient: the lock excludes a second holder, and its file
// is gone once released; a holder of a file removed under it is refused
// rather than holding a lock nobody else can see.
func TestTryLockTransient(t *testing.T) {
	b := mustBottle(t, newStore(t), "a")
	release, ok, err := b.TryLockTransient(".run.lock")
	if err != nil || !ok {
		t.Fatalf("first lock: %v, %v", ok, err)
	}
	if _, ok, err := b.TryLockTransient(".run.lock"); err != nil || ok {
		t.Fatalf("second lock while held: ok %v, %v; want refused", ok, err)
	}
	path := filepath.Join(b.Dir(), ".run.lock")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no lock file while held: %v", err)
	}
	release()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lock file after release: %v, want gone", err)
	}
	release, ok, err = b.TryLockTransient(".run.lock")
	if err != nil || !ok {
		t.Fatalf("lock after release: %v, %v", ok, err)
	}
	release()
}
