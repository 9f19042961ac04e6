package request

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
	"github.com/claude-bottle/claude-bottle/state"
)

// RunDir is a bottle's run folder on the host: the socket the bottle talks
// through and the managed Claude Code configuration it reads. The folder
// is mounted read-only at bottleapi.SocketDir in that bottle only, and
// ManagedDir at bottleapi.ManagedDir.
type RunDir struct {
	Slug string
	// Dir is <root>/run/<12 hex of sha256(slug)>, or the same under a
	// shorter base when that path is too long for a socket.
	Dir string
	// Socket is Dir/bottle.sock.
	Socket string
	// ManagedDir is Dir/claude-code.
	ManagedDir string
}

// maxSocketPath keeps the socket's path well inside sun_path (108 bytes
// with its NUL on Linux).
const maxSocketPath = 100

// SocketName is the socket's file name in a run folder.
const SocketName = "bottle.sock"

// ErrInUse: another claude-bottle serves the bottle's socket.
var ErrInUse = errors.New("bottle socket in use")

// PrepareRunDir creates the bottle's run folder under root (the state
// root) and returns it. The base folder (<root>/run, or the fallback
// $XDG_RUNTIME_DIR/claude-bottle or /tmp/claude-bottle-<uid> when the
// socket's path would exceed 100 bytes) is 0700, owned by the user and
// checked like the state folders: it keeps other host users out. The
// bottle's own folder is 0711 and the socket 0666 because inside the bottle
// the agent often runs as another uid than the host user, and connect(2)
// needs search permission on the folder and write permission on the
// socket; the 0700 base above is what guards them on the host.
func PrepareRunDir(root, slug string) (RunDir, error) {
	if err := state.ValidateSlug(slug); err != nil {
		return RunDir{}, err
	}
	sum := sha256.Sum256([]byte(slug))
	name := hex.EncodeToString(sum[:])[:12]
	base, err := runBase(root, name)
	if err != nil {
		return RunDir{}, err
	}
	if err := mkdirOwned(base, 0o700); err != nil {
		return RunDir{}, err
	}
	d := RunDir{Slug: slug, Dir: filepath.Join(base, name)}
	d.Socket = filepath.Join(d.Dir, SocketName)
	d.ManagedDir = filepath.Join(d.Dir, "claude-code")
	if err := mkdirOwned(d.Dir, 0o711); err != nil {
		return RunDir{}, err
	}
	if err := mkdirOwned(d.ManagedDir, 0o755); err != nil {
		return RunDir{}, err
	}
	return d, nil
}

// runBase picks the base folder: <root>/run when the socket's path fits,
// else a short per-user folder.
func runBase(root, name string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	fits := func(base string) bool {
		return len(filepath.Join(base, name, SocketName)) <= maxSocketPath
	}
	if b := filepath.Join(abs, "run"); fits(b) {
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return "", fmt.Errorf("creating %s: %w", abs, err)
		}
		return b, nil
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) && fits(filepath.Join(x, "claude-bottle")) {
		return filepath.Join(x, "claude-bottle"), nil
	}
	b := filepath.Join(os.TempDir(), "claude-bottle-"+strconv.Itoa(os.Geteuid()))
	if !fits(b) {
		return "", fmt.Errorf("no folder short enough for bottle sockets (%s is too long); set TMPDIR to a short path", b)
	}
	return b, nil
}

// mkdirOwned creates dir with mode if absent, then refuses it unless it is
// a real folder (not a symbolic link) owned by the user with exactly that
// mode: in a shared /tmp another user may have made it first.
func mkdirOwned(dir string, mode os.FileMode) error {
	if err := os.Mkdir(dir, mode); err == nil {
		return os.Chmod(dir, mode) // umask may have narrowed it
	} else if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir():
		return fmt.Errorf("%w: %s is not a folder (a symbolic link?); remove it", state.ErrUnsafe, dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%w: %s belongs to user %d, not you (%d); remove it", state.ErrUnsafe, dir, st.Uid, os.Geteuid())
	case fi.Mode().Perm() != mode:
		return fmt.Errorf("%w: %s has mode %04o, not %04o; run chmod %o %s", state.ErrUnsafe, dir, fi.Mode().Perm(), mode, mode, dir)
	}
	return nil
}

// Listen listens on the bottle's socket. A socket left by a claude-bottle
// that died is removed first; one that still answers is another live
// claude-bottle serving this bottle (ErrInUse). Anything at the path that
// is not a socket of the user's is refused, never removed.
func (d RunDir) Listen() (net.Listener, error) {
	if err := removeStaleSocket(d.Socket); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", d.Socket)
	if err != nil {
		return nil, fmt.Errorf("listening on bottle %s's socket: %w", d.Slug, err)
	}
	if err := os.Chmod(d.Socket, 0o666); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%w: %s is not a socket; remove it", state.ErrUnsafe, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, not you; remove it", state.ErrUnsafe, path, st.Uid)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: another claude-bottle serves %s (is the bottle already running?)", ErrInUse, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("checking the old socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing the stale socket %s: %w", path, err)
	}
	return nil
}

// WriteManaged writes Claude Code's managed configuration files (name ->
// content, like "managed-mcp.json") into ManagedDir, atomically and
// readable by the bottle's user (0644): they hold no secret.
func (d RunDir) WriteManaged(files map[string][]byte) error {
	for name, data := range files {
		if name == "" || filepath.Base(name) != name || name[0] == '.' {
			return fmt.Errorf("managed file name %q is not a plain file name", name)
		}
		if err := atomicfile.WriteFile(filepath.Join(d.ManagedDir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Remove removes the bottle's run folder (after its server stopped).
func (d RunDir) Remove() error { return os.RemoveAll(d.Dir) }
