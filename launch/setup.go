package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// removeBound bounds the removal of a stopped bottle's container, so that
// a wedged engine cannot hold the user's terminal after the agent is done.
const removeBound = 30 * time.Second

// runSetup is what a run resolves before its container is made.
type runSetup struct {
	paths hostPaths
	image imageDefaults
	// cleanup removes what the setup made for this run only.
	cleanup func()
}

// setupRun checks the cwd, finds the static binary, the run and managed
// folders (making private empty ones when the caller gave none) and what
// the image says about how it runs.
func setupRun(ctx context.Context, cli *client.Client, s Spec) (runSetup, error) {
	su := runSetup{cleanup: func() {}}
	if err := CheckCwd(s.Cwd, DefaultCwdRules(stateRootOf(s.Bottle), cli.DaemonHost(), s.WritableGit)); err != nil {
		return su, err
	}
	if err := s.Limits.Check(); err != nil {
		return su, fmt.Errorf("%w: %v", ErrBadLimits, err)
	}
	bin, err := InitBinary(s.Binary)
	if err != nil {
		return su, err
	}
	img, err := inspectDefaults(ctx, cli, s.Image)
	if err != nil {
		return su, err
	}
	su.paths, su.image = hostPaths{Binary: bin, RunDir: s.RunDir, ManagedDir: s.ManagedDir}, img
	if su.paths.RunDir != "" && su.paths.ManagedDir != "" {
		return su, nil
	}
	dir, err := os.MkdirTemp("", "claude-bottle-run-")
	if err != nil {
		return su, fmt.Errorf("making the bottle's run folder: %w", err)
	}
	su.cleanup = func() { os.RemoveAll(dir) }
	if su.paths.RunDir == "" {
		su.paths.RunDir = dir
	}
	if su.paths.ManagedDir == "" {
		su.paths.ManagedDir = filepath.Join(dir, "claude-code")
		if err := writeManaged(su.paths.ManagedDir); err != nil {
			su.cleanup()
			return su, fmt.Errorf("writing the bottle's managed Claude Code configuration: %w", err)
		}
	}
	return su, nil
}

// writeManaged makes dir with Claude Code's managed configuration in it
// (the claude-bottle MCP server and hook, package inbottle), for a caller
// that gave no folder of its own.
func writeManaged(dir string) error {
	files, err := inbottle.ManagedFiles(inbottle.ManagedOptions{})
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ErrBadLimits classes limits the engine would refuse.
var ErrBadLimits = errors.New("bad limits")

// inspectDefaults reads how the image runs: PID 1 takes its ENTRYPOINT's
// place, so launch passes the image's own on.
func inspectDefaults(ctx context.Context, cli *client.Client, image string) (imageDefaults, error) {
	res, err := cli.ImageInspect(ctx, image)
	if err != nil {
		return imageDefaults{}, engineError("inspecting the image "+image, err)
	}
	var d imageDefaults
	if c := res.Config; c != nil {
		d.Entrypoint, d.Cmd, d.User = c.Entrypoint, c.Cmd, c.User
		for _, kv := range c.Env {
			if v, ok := strings.CutPrefix(kv, "HOME="); ok {
				d.Home = v
			}
		}
	}
	return d, nil
}

// stateRootOf returns the state root of bottle b: its folder is
// <root>/state/<slug>.
func stateRootOf(b *state.Bottle) string {
	if b == nil {
		return ""
	}
	return filepath.Dir(filepath.Dir(b.Dir()))
}

// currentUser returns the host user this process runs as.
func currentUser() (uid, gid int, name string) {
	uid, gid = os.Getuid(), os.Getgid()
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return uid, gid, name
}
