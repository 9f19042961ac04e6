package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadRefusesUnsafeFiles(t *testing.T) {
	const content = "[docker]\nbin = \"/tmp/evil\"\n"
	cases := []struct {
		name string
		make func(t *testing.T, p string)
		want string
	}{
		{"symlink", func(t *testing.T, p string) {
			real := p + ".real"
			os.WriteFile(real, []byte(content), 0o600)
			os.Symlink(real, p)
		}, "is a symbolic link"},
		{"world-writable", func(t *testing.T, p string) {
			os.WriteFile(p, []byte(content), 0o600)
			os.Chmod(p, 0o666)
		}, "writable by other users (mode 0666)"},
		{"group-writable", func(t *testing.T, p string) {
			os.WriteFile(p, []byte(content), 0o600)
			os.Chmod(p, 0o620)
		}, "writable by other users (mode 0620)"},
		{"folder", func(t *testing.T, p string) { os.Mkdir(p, 0o700) }, "is not a regular file"},
		{"too large", func(t *testing.T, p string) {
			os.WriteFile(p, []byte("# "+strings.Repeat("x", maxFileSize)+"\n"), 0o600)
		}, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			tc.make(t, p)
			f, err := Load(p)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Load = %+v, %v; want ErrConfig naming %s and saying %q", f, err, p, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if os.Geteuid() == 0 {
		t.Run("other owner", func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.toml")
			os.WriteFile(p, []byte(content), 0o600)
			os.Chown(p, 65534, 65534)
			if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
				t.Fatalf("Load = %v", err)
			}
		})
	}
}
