package launch

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// ErrUnsafeCwd classes a working folder a bottle may not be given: the
// agent would get write access to something that runs on the host.
var ErrUnsafeCwd = errors.New("unsafe working folder")

// CwdRules say which folders may not be a bottle's working folder. The
// agent can write everything in it, so none of these may be in reach:
// the whole disk, the user's home (shell startup files, ssh keys, every
// other project), claude-bottle's own state (config.toml names the docker
// binary the next command runs; plugins and their lock file), and the
// Docker socket (root on the host).
type CwdRules struct {
	// Home is the user's home folder.
	Home string
	// StateRoot is claude-bottle's state root.
	StateRoot string
	// DockerSockets are the Docker engine's sockets on this host.
	DockerSockets []string
	// WritableGit skips the check that the cwd's git configuration and
	// hooks can be mounted read-only.
	WritableGit bool
}

// DefaultCwdRules are the rules for this user: their home ($HOME), the
// state root given, and the engine's socket from dockerHost (a unix://
// address; "" or another scheme adds nothing) plus the usual places of
// Docker's sockets, rootful and rootless.
func DefaultCwdRules(stateRoot, dockerHost string, writableGit bool) CwdRules {
	r := CwdRules{StateRoot: stateRoot, WritableGit: writableGit}
	r.Home, _ = os.UserHomeDir()
	if u, err := url.Parse(dockerHost); err == nil && u.Scheme == "unix" {
		r.DockerSockets = append(r.DockerSockets, u.Path)
	}
	r.DockerSockets = append(r.DockerSockets, "/var/run/docker.sock", "/run/docker.sock")
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		r.DockerSockets = append(r.DockerSockets, filepath.Join(x, "docker.sock"))
	}
	return r
}

// CheckCwd refuses a working folder that would put something of the
// host's in the agent's reach, with one line saying why and what to do.
// cwd is an absolute path; symbolic links are resolved first, as the bind
// mount would.
func CheckCwd(cwd string, r CwdRules) error {
	if cwd == "" {
		return nil
	}
	real := resolve(cwd)
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: --cwd %q %s", ErrUnsafeCwd, cwd, fmt.Sprintf(format, args...))
	}
	if strings.IndexFunc(cwd, unicode.IsControl) >= 0 {
		return refuse("holds a control character (a newline, a tab...): it cannot be the bottle's working folder; rename the folder")
	}
	if real == "/" {
		return refuse("is the root folder: the agent could change every file on the host; pass a project folder")
	}
	if r.Home != "" && real == resolve(r.Home) {
		return refuse("is your home folder: the agent could change your shell startup files, ssh keys and every other project; pass a project folder inside it")
	}
	if r.StateRoot != "" {
		root := resolve(r.StateRoot)
		switch {
		case within(real, root):
			return refuse("is inside claude-bottle's state root %s: the agent could rewrite config.toml (which names the docker binary claude-bottle runs) or replace plugins; pass a project folder outside it", root)
		case within(root, real):
			return refuse("contains claude-bottle's state root %s: the agent could rewrite config.toml (which names the docker binary claude-bottle runs) or replace plugins; pass a folder that does not contain it", root)
		}
	}
	for _, s := range r.DockerSockets {
		if sock := resolve(s); isSocket(sock) && within(sock, real) {
			return refuse("holds the Docker engine's socket %s: the agent would be root on the host; pass a folder that does not contain it", sock)
		}
	}
	if isSocket(filepath.Join(real, "docker.sock")) {
		return refuse("holds a Docker socket (docker.sock): the agent could control that engine; pass a folder without one")
	}
	if !r.WritableGit {
		if _, err := gitProtected(real); err != nil {
			return refuse("%v", err)
		}
	}
	return nil
}

// gitProtected returns the cwd's git files that are mounted read-only
// over it: .git/config and .git/hooks of a repository, or the .git file of
// a worktree or submodule (which names its git folder). An agent that
// could write them would plant hooks or core.fsmonitor, which the user's
// next git command runs on the host. A symbolic link there cannot be
// protected by a mount (the agent could replace the link itself), so it
// is an error.
func gitProtected(cwd string) ([]string, error) {
	git := filepath.Join(cwd, ".git")
	fi, err := os.Lstat(git)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	case fi.Mode().IsRegular():
		return []string{git}, nil
	case !fi.IsDir():
		return nil, unprotectable(".git")
	}
	var out []string
	for _, name := range []string{"config", "hooks"} {
		p := filepath.Join(git, name)
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, err
		case fi.Mode()&fs.ModeSymlink != 0 || !(fi.Mode().IsRegular() || fi.IsDir()):
			return nil, unprotectable(".git/" + name)
		}
		out = append(out, p)
	}
	return out, nil
}

func unprotectable(name string) error {
	return fmt.Errorf("has %s as a symbolic link or special file, which cannot be mounted read-only: an agent could replace it with hooks your next git command runs on the host; make it a real file or folder, or pass --writable-git to accept that risk", name)
}

// resolve returns p absolute and clean with its symbolic links resolved,
// as far as it exists (a state root not made yet is still compared).
func resolve(p string) string {
	p, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	var rest []string
	for dir := p; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(append([]string{real}, rest...)...)
		}
		if dir == "/" || dir == "." {
			return p
		}
		rest = append([]string{filepath.Base(dir)}, rest...)
	}
}

// within reports whether p is dir or inside it.
func within(p, dir string) bool {
	if p == dir || dir == "/" {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// isSocket reports whether p is a unix socket.
func isSocket(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode()&fs.ModeSocket != 0
}
