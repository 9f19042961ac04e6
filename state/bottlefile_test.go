package state

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBottleFileNamesRefused(t *testing.T) {
	b := mustBottle(t, newStore(t), "files")
	for _, name := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/b/c", "./x", "a//b"} {
		if err := b.WriteFileAt(name, []byte("x"), 0o600); err == nil {
			t.Errorf("WriteFile(%q) was accepted", name)
		}
		if _, _, err := b.ReadFileAt(name); err == nil {
			t.Errorf("ReadFile(%q) was accepted", name)
		}
	}
}

func TestBottleFilesRoundTrip(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "files")
	if _, ok, err := b.ReadFileAt("capabilities.json"); ok || err != nil {
		t.Fatalf("ReadFile on a fresh store = %v, %v", ok, err)
	}
	if tree(t, s.Root()) != "<absent>" {
		t.Fatal("a read wrote something")
	}
	if err := b.WriteFileAt("sub/one", []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := b.ReadFileAt("sub/one"); string(data) != "1" || !ok || err != nil {
		t.Fatalf("ReadFile = %q, %v, %v", data, ok, err)
	}
	if fi, _ := os.Stat(b.FilePath("sub")); fi.Mode().Perm() != 0o700 {
		t.Errorf("subfolder mode %v", fi.Mode())
	}
	for i := range 3 {
		if err := b.AppendFileAt("log", []byte(strings.Repeat("x", i)+"\n")); err != nil {
			t.Fatal(err)
		}
	}
	if data, _, _ := b.ReadFileAt("log"); string(data) != "\nx\nxx\n" {
		t.Errorf("appended %q", data)
	}
	if err := b.ReplaceDir("previous", map[string][]byte{"a": []byte("A"), "b": []byte("B")}); err != nil {
		t.Fatal(err)
	}
	if err := b.ReplaceDir("previous", map[string][]byte{"c": []byte("C")}); err != nil {
		t.Fatal(err)
	}
	files, ok, err := b.ReadDirFiles("previous")
	if !ok || err != nil || len(files) != 1 || string(files["c"]) != "C" {
		t.Errorf("ReadDir = %v, %v, %v; want only c", files, ok, err)
	}
	if err := b.RemoveFileAt("sub/one"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveFileAt("sub/one"); err != nil {
		t.Errorf("removing twice: %v", err)
	}
	noTemps(t, b.Dir())
}

func TestBottleFileRefusesSymlink(t *testing.T) {
	b := mustBottle(t, newStore(t), "files")
	if err := b.WriteFileAt("real", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", b.FilePath("link")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ReadFileAt("link"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("ReadFile(symlink) = %v, want ErrUnsafe", err)
	}
	if err := b.AppendFileAt("link", []byte("x")); err == nil {
		t.Error("AppendFile followed a symbolic link")
	}
	if err := b.WriteFileAt("link", []byte("x"), 0o600); !errors.Is(err, ErrUnsafe) {
		t.Errorf("WriteFile(symlink) = %v, want ErrUnsafe", err)
	}
}

// TestLockSerialises: read-modify-write under Lock from many goroutines,
// each with its own lock handle (as separate processes have), loses no
// write, and a waiter is told it waits.
func TestLockSerialises(t *testing.T) {
	b := mustBottle(t, newStore(t), "locked")
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	waited := 0
	for range n {
		wg.Go(func() {
			unlock, err := b.LockState(context.Background(), func() { mu.Lock(); waited++; mu.Unlock() })
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			data, _, _ := b.ReadFileAt("count")
			time.Sleep(time.Millisecond)
			if err := b.WriteFileAt("count", append(data, 'x'), 0o600); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if data, _, _ := b.ReadFileAt("count"); len(data) != n {
		t.Errorf("after %d locked increments the count is %d: a write was lost", n, len(data))
	}
	if waited == 0 {
		t.Error("no goroutine was told it waited for the lock")
	}
	unlock, _ := b.LockState(context.Background(), nil)
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := b.LockState(ctx, nil); err == nil || !strings.Contains(err.Error(), "waiting for the lock") {
		t.Errorf("Lock while held, with a deadline = %v", err)
	}
}
