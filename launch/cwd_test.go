package launch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCwd: each folder that would put something of the host's in
// the agent's reach is refused with one line naming the folder and the
// reason; project folders pass.
func TestCheckCwd(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	root := filepath.Join(home, ".claude-bottle")
	mkTree(t, base, "home/project/src/main.go", "home/.claude-bottle/config.toml", "run/", "other/",
		"gitrepo/.git/config", "gitrepo/.git/hooks/pre-commit", "linkedhooks/.git/config", "linkedhooks/githooks/",
		"gitlink/realgit/config", "docsock/", "fakesock/docker.sock")
	symlink(t, home, filepath.Join(base, "homelink"))
	symlink(t, filepath.Join(base, "linkedhooks/githooks"), filepath.Join(base, "linkedhooks/.git/hooks"))
	symlink(t, filepath.Join(base, "gitlink/realgit"), filepath.Join(base, "gitlink/.git"))
	engine := listenUnix(t, filepath.Join(base, "run", "docker.sock"))
	listenUnix(t, filepath.Join(base, "docsock", "docker.sock"))
	rules := CwdRules{Home: home, StateRoot: root, DockerSockets: []string{"/nonexistent/docker.sock", engine}}

	tests := []struct {
		name, cwd string
		rules     CwdRules
		reason    string // "" means allowed
	}{
		{"a project in home", filepath.Join(home, "project"), rules, ""},
		{"a folder elsewhere", filepath.Join(base, "other"), rules, ""},
		{"a newline in the path", filepath.Join(base, "a\nb"), rules, "holds a control character"},
		{"a dollar in the path", filepath.Join(base, "$HOME"), rules, ""},
		{"the root folder", "/", rules, "is the root folder"},
		{"home itself", home, rules, "is your home folder"},
		{"home through a link", filepath.Join(base, "homelink"), rules, "is your home folder"},
		{"the state root", root, rules, "is inside claude-bottle's state root"},
		{"inside the state root", filepath.Join(root, "state"), rules, "is inside claude-bottle's state root"},
		{"containing the state root", base, rules, "contains claude-bottle's state root"},
		{"containing a state root not made yet", filepath.Join(base, "other"),
			CwdRules{StateRoot: filepath.Join(base, "other", "not-yet", "root")}, "contains claude-bottle's state root"},
		{"holding the engine's socket", filepath.Join(base, "run"), rules, "holds the Docker engine's socket"},
		{"holding it deeper", base, CwdRules{DockerSockets: []string{engine}}, "holds the Docker engine's socket"},
		{"a docker.sock socket in it", filepath.Join(base, "docsock"), rules, "holds a Docker socket"},
		{"a plain file named docker.sock", filepath.Join(base, "fakesock"), rules, ""},
		{"a git repository (mounted read-only)", filepath.Join(base, "gitrepo"), rules, ""},
		{"git hooks through a link", filepath.Join(base, "linkedhooks"), rules, "has .git/hooks as a symbolic link"},
		{"git hooks through a link, writable git", filepath.Join(base, "linkedhooks"), CwdRules{WritableGit: true}, ""},
		{"a linked .git", filepath.Join(base, "gitlink"), rules, "has .git as a symbolic link"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCwd(tc.cwd, tc.rules)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("CheckCwd(%s) = %v, want allowed", tc.cwd, err)
				}
				return
			}
			if !errors.Is(err, ErrUnsafeCwd) {
				t.Fatalf("CheckCwd(%s) = %v, want ErrUnsafeCwd", tc.cwd, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.reason) || !strings.Contains(msg, fmt.Sprintf("--cwd %q", tc.cwd)) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %q and %q", msg, tc.cwd, tc.reason)
			}
		})
	}
}

// TestDefaultCwdRules: the engine's socket comes from a unix:// host, and
// the usual places are always checked.
func TestDefaultCwdRules(t *testing.T) {
	t.Setenv("HOME", "/home/someone")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	r := DefaultCwdRules("/state", "unix:///srv/engine/docker.sock", true)
	want := []string{"/srv/engine/docker.sock", "/var/run/docker.sock", "/run/docker.sock", "/run/user/1000/docker.sock"}
	if r.Home != "/home/someone" || r.StateRoot != "/state" || !r.WritableGit || strings.Join(r.DockerSockets, " ") != strings.Join(want, " ") {
		t.Errorf("DefaultCwdRules = %+v", r)
	}
	if r := DefaultCwdRules("/state", "tcp://10.0.0.1:2375", false); len(r.DockerSockets) != 3 {
		t.Errorf("a tcp:// engine added a socket: %v", r.DockerSockets)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// listenUnix makes a real unix socket at path, closed after the test.
func listenUnix(t *testing.T, path string) string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return path
}
