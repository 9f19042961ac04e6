package request

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/state"
)

func TestPrepareRunDir(t *testing.T) {
	root := filepath.Join(t.TempDir(), "home")
	d, err := PrepareRunDir(root, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d.Dir) != filepath.Join(root, "run") || len(filepath.Base(d.Dir)) != 12 || d.Socket != filepath.Join(d.Dir, "bottle.sock") {
		t.Fatalf("run dir %+v", d)
	}
	for path, mode := range map[string]os.FileMode{filepath.Join(root, "run"): 0o700, d.Dir: 0o711, d.ManagedDir: 0o755} {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want %04o", path, fi.Mode(), err, mode)
		}
	}
	other, _ := PrepareRunDir(root, "other")
	if other.Dir == d.Dir {
		t.Error("two bottles share a run folder")
	}
	again, err := PrepareRunDir(root, "demo")
	if err != nil || again != d {
		t.Errorf("second prepare = %+v, %v", again, err)
	}
	if _, err := PrepareRunDir(root, "../x"); !errors.Is(err, state.ErrInvalidSlug) {
		t.Errorf("bad slug: %v", err)
	}
	if err := d.WriteManaged(map[string][]byte{"managed-mcp.json": []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(d.ManagedDir, "managed-mcp.json")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("managed file: %v %v", fi.Mode(), err)
	}
	if err := d.WriteManaged(map[string][]byte{"../evil": nil}); err == nil {
		t.Error("a managed file outside the folder was written")
	}
}

func TestRunDirFallsBackForLongRoots(t *testing.T) {
	root := filepath.Join(t.TempDir(), strings.Repeat("long-folder-name/", 6))
	short := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", short)
	d, err := PrepareRunDir(root, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Dir, filepath.Join(short, "claude-bottle")+"/") || len(d.Socket) > 100 {
		t.Fatalf("run dir %s", d.Dir)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	d, err = PrepareRunDir(root, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d.Dir) != filepath.Join(tmp, "claude-bottle-"+strconv.Itoa(os.Geteuid())) {
		t.Fatalf("run dir %s", d.Dir)
	}
}

func TestRunDirRefusesUnsafeBases(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("TMPDIR", tmp)
	long := filepath.Join(t.TempDir(), strings.Repeat("long-folder-name/", 6))
	base := filepath.Join(tmp, "claude-bottle-"+strconv.Itoa(os.Geteuid()))

	// A symbolic link planted where the base goes.
	os.Symlink(t.TempDir(), base)
	if _, err := PrepareRunDir(long, "demo"); !errors.Is(err, state.ErrUnsafe) {
		t.Errorf("base is a link: %v", err)
	}
	os.Remove(base)

	// A base other users can enter.
	os.Mkdir(base, 0o755)
	os.Chmod(base, 0o755)
	if _, err := PrepareRunDir(long, "demo"); !errors.Is(err, state.ErrUnsafe) {
		t.Errorf("base 0755: %v", err)
	}
	os.Chmod(base, 0o700)

	// A base another user made (needs root to arrange).
	if os.Geteuid() == 0 {
		os.Chown(base, 12345, 12345)
		if _, err := PrepareRunDir(long, "demo"); !errors.Is(err, state.ErrUnsafe) {
			t.Errorf("base of another user: %v", err)
		}
		os.Chown(base, 0, 0)
	}
	if _, err := PrepareRunDir(long, "demo"); err != nil {
		t.Errorf("a good base refused: %v", err)
	}
}

func TestListenRemovesOnlyStaleSockets(t *testing.T) {
	d, err := PrepareRunDir(filepath.Join(t.TempDir(), "home"), "demo")
	if err != nil {
		t.Fatal(err)
	}
	// A live socket: refused, left alone.
	l, err := d.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(d.Socket); fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v", fi.Mode().Perm())
	}
	if _, err := d.Listen(); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen on a live socket: %v, want ErrInUse", err)
	}
	// The same socket left behind by a process that died: replaced.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(d.Socket); err != nil {
		t.Fatal("the stale socket is not there to test with")
	}
	l2, err := d.Listen()
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	l2.Close()
	// Something that is not a socket: refused, never removed.
	os.WriteFile(d.Socket, []byte("keep me"), 0o600)
	if _, err := d.Listen(); !errors.Is(err, state.ErrUnsafe) {
		t.Fatalf("Listen over a file: %v, want ErrUnsafe", err)
	}
	if data, _ := os.ReadFile(d.Socket); string(data) != "keep me" {
		t.Error("the file was changed")
	}
}
