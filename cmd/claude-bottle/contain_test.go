package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLaunchRefusesContainment: bad containment flags and unsafe working
// folders are refused before anything is planned into the state or
// built: exit 2, one line naming the value and the reason.
func TestLaunchRefusesContainment(t *testing.T) {
	f := newCLIFixture(t)
	userHome := filepath.Join(f.tmp, "user")
	t.Setenv("HOME", userHome)
	for _, d := range []string{userHome, filepath.Join(f.home, "state"), filepath.Join(f.tmp, "hooks", ".git", "real-hooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("real-hooks", filepath.Join(f.tmp, "hooks", ".git", "hooks")); err != nil {
		t.Fatal(err)
	}
	base := []string{"launch", "demo", "--repo", f.repo, "--driver", "buildkit", "--no-build"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown network", []string{"--network", "host"}, `--network "host": want none`},
		{"bad memory", []string{"--memory", "lots"}, `--memory "lots": want a size`},
		{"too few pids", []string{"--pids-limit", "3"}, "pids limit 3"},
		{"negative cpus", []string{"--cpus", "-1"}, "cpus -1"},
		{"root folder", []string{"--cwd", "/"}, "is the root folder"},
		{"home folder", []string{"--cwd", userHome}, "is your home folder"},
		{"state root", []string{"--cwd", f.home}, "is inside claude-bottle's state root"},
		{"inside the state root", []string{"--cwd", filepath.Join(f.home, "state")}, "is inside claude-bottle's state root"},
		{"containing the state root", []string{"--cwd", f.tmp}, "contains claude-bottle's state root"},
		{"linked git hooks", []string{"--cwd", filepath.Join(f.tmp, "hooks")}, "--writable-git"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := cliTree(t, f.home)
			r := f.run("", append(base, tc.args...)...)
			if r.code != exitUsage || !strings.Contains(r.errOut, tc.want) || strings.Count(r.errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line saying %q", r.code, r.errOut, tc.want)
			}
			if after := cliTree(t, f.home); after != before {
				t.Errorf("the refused launch changed the state root:\n%s\nwas\n%s", after, before)
			}
		})
	}
}
