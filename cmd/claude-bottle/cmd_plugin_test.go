package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests never start a built-in driver: the CLI test binary cannot
// serve one. Installing and running real plugins is covered by
// integration/plugins_test.go against a built claude-bottle.

func TestPluginCommandsRefuseBadInput(t *testing.T) {
	f := newCLIFixture(t)
	notPlugin := f.write("bin/frob", "#!/bin/sh\necho usage: frob\nexit 3\n")
	os.Chmod(notPlugin, 0o755)
	tests := []struct {
		args   []string
		code   int
		stderr []string
	}{
		{[]string{"plugin", "install", notPlugin}, exitUsage, []string{"not installing", "is not a claude-bottle driver plugin", "exit status 3", "usage: frob"}},
		{[]string{"plugin", "install", notPlugin, "--name", "Bad Name"}, exitUsage, []string{`invalid driver name "Bad Name"`}},
		{[]string{"plugin", "install", filepath.Join(f.tmp, "missing")}, exitUsage, []string{"no such file"}},
		{[]string{"plugin", "install"}, exitUsage, []string{"install takes PATH"}},
		{[]string{"plugin", "remove", "nope"}, exitFailure, []string{`no plugin "nope" is installed`}},
		{[]string{"plugin", "remove", "../x"}, exitUsage, []string{"invalid driver name"}},
		{[]string{"plugin", "upgrade", "nope"}, exitFailure, []string{`no plugin "nope" is installed`}},
		{[]string{"plugin", "upgrade", "../x"}, exitUsage, []string{"invalid driver name"}},
		{[]string{"plugin", "list", "--format", "yaml"}, exitUsage, []string{`--format "yaml"`}},
		{[]string{"plugin", "frobnicate"}, exitUsage, []string{"unknown command"}},
		{[]string{"drivers", "--format", "yaml"}, exitUsage, []string{`--format "yaml"`}},
		{[]string{"__driver-serve", "no-such-driver"}, exitFailure, []string{`no built-in driver "no-such-driver"`}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := f.run("", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, tc.code, r.errOut)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.errOut)
				}
			}
			if r.out != "" {
				t.Errorf("refused command wrote to stdout: %q", r.out)
			}
		})
	}
	if entries, _ := os.ReadDir(filepath.Join(f.home, "plugins")); len(entries) > 1 { // at most the empty lock mutex
		t.Errorf("refused installs left files: %v", entries)
	}
}

func TestPluginListEmpty(t *testing.T) {
	f := newCLIFixture(t)
	if r := f.ok("plugin", "list"); !strings.Contains(r.out, "no driver plugins installed") {
		t.Errorf("plugin list = %q", r.out)
	}
	if r := f.ok("plugin", "list", "--format", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("plugin list --format json = %q", r.out)
	}
	if r := f.ok("plugin", "upgrade"); !strings.Contains(r.out, "every installed plugin is up to date") {
		t.Errorf("plugin upgrade = %q", r.out)
	}
}

// TestPluginListRefusedIsBadInput: a plugin refused for a checksum
// mismatch is listed, and the command exits 2 with one line naming it.
func TestPluginListRefusedIsBadInput(t *testing.T) {
	f := newCLIFixture(t)
	dir := filepath.Join(f.home, "plugins")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "claude-bottle-driver-good"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "claude-bottle-driver-changed"), []byte("#!/bin/sh\necho changed\n"), 0o755)
	lock := `{"version": 1, "plugins": {
  "good": {"sha256": "` + sha256Hex("#!/bin/sh\n") + `", "installed": "2025-01-01T00:00:00Z"},
  "changed": {"sha256": "` + sha256Hex("#!/bin/sh\n") + `", "installed": "2025-01-01T00:00:00Z"}}}`
	os.WriteFile(filepath.Join(dir, "plugins.lock.json"), []byte(lock), 0o600)
	for _, format := range []string{"text", "json"} {
		r := f.run("", "plugin", "list", "--format", format)
		if r.code != exitUsage {
			t.Errorf("--format %s: exit %d, want %d\nstderr: %s", format, r.code, exitUsage, r.errOut)
		}
		if !strings.Contains(r.out, "changed") || !strings.Contains(r.out, "good") {
			t.Errorf("--format %s: the list lacks a plugin:\n%s", format, r.out)
		}
		if lines := strings.Count(strings.TrimSpace(r.errOut), "\n"); lines != 0 || !strings.Contains(r.errOut, `"changed"`) || !strings.Contains(r.errOut, "plugin install") {
			t.Errorf("--format %s: stderr is not one line naming the refused plugin and what to do:\n%s", format, r.errOut)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
