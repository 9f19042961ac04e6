package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultRoot(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLAUDE_BOTTLE_HOME", "")
	if got, err := DefaultRoot(); err != nil || got != filepath.Join(home, ".claude-bottle") {
		t.Errorf("DefaultRoot() = %q, %v; want %q", got, err, filepath.Join(home, ".claude-bottle"))
	}
	t.Setenv("CLAUDE_BOTTLE_HOME", "/srv/bottles/../cb")
	if got, err := DefaultRoot(); err != nil || got != "/srv/cb" {
		t.Errorf("DefaultRoot() with $CLAUDE_BOTTLE_HOME = %q, %v; want /srv/cb", got, err)
	}
	t.Chdir(home)
	t.Setenv("CLAUDE_BOTTLE_HOME", "rel")
	if got, err := DefaultRoot(); err != nil || got != filepath.Join(home, "rel") {
		t.Errorf("DefaultRoot() with a relative $CLAUDE_BOTTLE_HOME = %q, %v; want it made absolute", got, err)
	}
}

func TestLayout(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "my-agent")
	if want := filepath.Join(s.Root(), "state", "my-agent"); b.Dir() != want {
		t.Errorf("Dir() = %q, want %q", b.Dir(), want)
	}
	if want := filepath.Join(b.Dir(), "Dockerfile"); b.DockerfilePath() != want {
		t.Errorf("DockerfilePath() = %q, want %q", b.DockerfilePath(), want)
	}
	if want := filepath.Join(b.Dir(), "transcript"); b.TranscriptDir() != want {
		t.Errorf("TranscriptDir() = %q, want %q", b.TranscriptDir(), want)
	}
}

// TestReadsLeaveNoTrace proves that every read of a bottle that has no
// state, including a reset, creates nothing.
func TestReadsLeaveNoTrace(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "ghost")
	if ok, err := b.Exists(); ok || err != nil {
		t.Errorf("Exists() = %v, %v", ok, err)
	}
	if data, ok, err := b.Override(); data != nil || ok || err != nil {
		t.Errorf("Override() = %q, %v, %v; want none and no error", data, ok, err)
	}
	if _, ok, err := b.Snapshot(); ok || err != nil {
		t.Errorf("Snapshot() = %v, %v", ok, err)
	}
	if err := b.ResetOverride(); err != nil {
		t.Errorf("ResetOverride() = %v", err)
	}
	if slugs, err := s.List(); len(slugs) != 0 || err != nil {
		t.Errorf("List() = %v, %v", slugs, err)
	}
	if v, err := s.Version(); v != 0 || err != nil {
		t.Errorf("Version() = %d, %v", v, err)
	}
	if got := tree(t, s.Root()); got != "<absent>" {
		t.Fatalf("reads wrote:\n%s", got)
	}
}

func TestList(t *testing.T) {
	s := newStore(t)
	for _, slug := range []string{"zed", "alpha", "m.id"} {
		if err := mustBottle(t, s, slug).SetOverride([]byte(validDockerfile)); err != nil {
			t.Fatal(err)
		}
	}
	// Junk that is not a bottle: a file, a folder with an invalid name, a link.
	os.WriteFile(filepath.Join(s.StateDir(), "stray"), nil, 0o600)
	os.Mkdir(filepath.Join(s.StateDir(), "Upper"), 0o700)
	os.Symlink(filepath.Join(s.StateDir(), "alpha"), filepath.Join(s.StateDir(), "link"))
	got, err := s.List()
	if want := []string{"alpha", "m.id", "zed"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("List() = %v, %v; want %v", got, err, want)
	}
}

func TestFormatVersion(t *testing.T) {
	t.Run("fresh store gets version 1", func(t *testing.T) {
		s := newStore(t)
		if err := mustBottle(t, s, "a").SetOverride([]byte(validDockerfile)); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(s.StateDir(), ".format-version"))
		if err != nil || string(data) != "1\n" {
			t.Fatalf("format file holds %q, %v; want \"1\\n\"", data, err)
		}
		if v, err := s.Version(); v != 1 || err != nil {
			t.Fatalf("Version() = %d, %v", v, err)
		}
		fi, _ := os.Stat(filepath.Join(s.StateDir(), ".format-version"))
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("format file mode %v", fi.Mode())
		}
	})
	for _, tc := range []struct{ name, content, want string }{
		{"newer version refused", "2\n", "upgrade claude-bottle"},
		{"much newer version refused", "99", "format 99"},
		{"garbage refused", "not a number\n", "not a version number"},
		{"zero refused", "0\n", "not a version number"},
		{"negative refused", "-1", "not a version number"},
		{"empty refused", "", "not a version number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			os.MkdirAll(s.StateDir(), 0o700)
			vf := filepath.Join(s.StateDir(), ".format-version")
			os.WriteFile(vf, []byte(tc.content), 0o644)
			before := tree(t, s.Root())
			err := mustBottle(t, s, "a").SetOverride([]byte(validDockerfile))
			wantErr(t, err, nil, tc.want)
			if after := tree(t, s.Root()); after != before {
				t.Fatalf("a refused store was written:\n%s\nwas\n%s", after, before)
			}
			if _, err := mustBottle(t, s, "a").SaveTranscript(strings.NewReader(""), "", false); err == nil {
				t.Fatal("SaveTranscript wrote into a store it cannot read")
			}
		})
	}
}

// TestUnsafePaths covers everything another user could change: links,
// foreign owners, group or world write. Reads and writes refuse them alike
// and the message says what to run.
func TestUnsafePaths(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, s *Store, b *Bottle)
		want   string
		root   bool // needs root, to give a file away
		folder bool // a folder is unsafe: every write is refused too
	}{
		{"bottle folder is a link", func(t *testing.T, s *Store, b *Bottle) {
			elsewhere := t.TempDir()
			os.WriteFile(filepath.Join(elsewhere, "Dockerfile"), []byte(validDockerfile), 0o644)
			os.Remove(b.Dir())
			os.Symlink(elsewhere, b.Dir())
		}, "symbolic link", false, true},
		{"state folder is a link", func(t *testing.T, s *Store, b *Bottle) {
			elsewhere := t.TempDir()
			os.MkdirAll(filepath.Join(elsewhere, "a"), 0o700)
			os.WriteFile(filepath.Join(elsewhere, "a", "Dockerfile"), []byte(validDockerfile), 0o644)
			os.RemoveAll(s.StateDir())
			os.Symlink(elsewhere, s.StateDir())
		}, "symbolic link", false, true},
		{"root is a link", func(t *testing.T, s *Store, b *Bottle) {
			elsewhere := filepath.Join(t.TempDir(), "real")
			os.Rename(s.Root(), elsewhere)
			os.Symlink(elsewhere, s.Root())
		}, "symbolic link", false, true},
		{"bottle folder is a file", func(t *testing.T, s *Store, b *Bottle) {
			os.Remove(b.Dir())
			os.WriteFile(b.Dir(), []byte(validDockerfile), 0o600)
		}, "not a folder", false, true},
		{"bottle folder world-writable", func(t *testing.T, s *Store, b *Bottle) {
			os.Chmod(b.Dir(), 0o777)
		}, "chmod go-w %DIR%", false, true},
		{"state folder group-writable", func(t *testing.T, s *Store, b *Bottle) {
			os.Chmod(s.StateDir(), 0o770)
		}, "chmod go-w", false, true},
		{"bottle folder owned by another user", func(t *testing.T, s *Store, b *Bottle) {
			os.Chown(b.Dir(), 65534, 65534)
		}, "belongs to user 65534", true, true},
		{"Dockerfile is a link", func(t *testing.T, s *Store, b *Bottle) {
			target := filepath.Join(t.TempDir(), "Dockerfile")
			os.WriteFile(target, []byte(validDockerfile), 0o644)
			os.Symlink(target, b.DockerfilePath())
		}, "not a regular file", false, false},
		{"Dockerfile is a folder", func(t *testing.T, s *Store, b *Bottle) {
			os.Mkdir(b.DockerfilePath(), 0o700)
		}, "not a regular file", false, false},
		{"Dockerfile world-writable", func(t *testing.T, s *Store, b *Bottle) {
			os.WriteFile(b.DockerfilePath(), []byte(validDockerfile), 0o644)
			os.Chmod(b.DockerfilePath(), 0o666)
		}, "chmod go-w %DF%", false, false},
		{"Dockerfile owned by another user", func(t *testing.T, s *Store, b *Bottle) {
			os.WriteFile(b.DockerfilePath(), []byte(validDockerfile), 0o644)
			os.Chown(b.DockerfilePath(), 65534, 65534)
		}, "chown", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				t.Skip("skipping: giving a file to another user needs root")
			}
			s := newStore(t)
			b := mustBottle(t, s, "a")
			if err := os.MkdirAll(b.Dir(), 0o700); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, s, b)
			want := strings.NewReplacer("%DIR%", b.Dir(), "%DF%", b.DockerfilePath()).Replace(tc.want)
			before := tree(t, s.Root())

			_, _, err := b.OverridePath()
			wantErr(t, err, ErrUnsafe, want)
			_, _, err = b.Override()
			wantErr(t, err, ErrUnsafe, want)
			if tc.folder {
				// Nothing may be written through or into an unsafe folder.
				wantErr(t, b.SetOverride([]byte(validDockerfile)), ErrUnsafe, want)
				_, err = b.SaveTranscript(strings.NewReader(""), "", false)
				wantErr(t, err, ErrUnsafe, want)
				wantErr(t, b.ResetOverride(), ErrUnsafe, want)
				_, _, err = b.Snapshot()
				wantErr(t, err, ErrUnsafe, want)
			}
			if after := tree(t, s.Root()); after != before {
				t.Fatalf("a refused call changed the store:\n%s\nwas\n%s", after, before)
			}
			if !tc.folder {
				remedy(t, b)
			}
		})
	}
}

// remedy checks that what an unsafe-override message says works: reset
// (or remove) it, then set it again.
func remedy(t *testing.T, b *Bottle) {
	t.Helper()
	if err := b.ResetOverride(); err != nil {
		if err := os.RemoveAll(b.DockerfilePath()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetOverride([]byte(validDockerfile)); err != nil {
		t.Fatalf("SetOverride after removing the bad override: %v", err)
	}
	if _, ok, err := b.OverridePath(); !ok || err != nil {
		t.Fatalf("OverridePath after the remedy = %v, %v", ok, err)
	}
}

func TestWriteCreatesTheRootsMissingParents(t *testing.T) {
	root := filepath.Join(t.TempDir(), "not", "yet", "home")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Bottle("nested")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetOverride([]byte("FROM scratch\n")); err != nil {
		t.Fatalf("SetOverride under a root with missing parents: %v", err)
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("root %s: %v, mode %v; want a 0700 folder", root, err, fi.Mode().Perm())
	}
}

func TestFreshBottleInUnsafeRootRefused(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	os.Mkdir(root, 0o700)
	os.Chmod(root, 0o777)
	s, _ := Open(root)
	b, err := s.Bottle("fresh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exists(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("Exists of a fresh bottle in a 0777 root: %v, want ErrUnsafe", err)
	}
	if _, _, err := b.OverridePath(); !errors.Is(err, ErrUnsafe) {
		t.Errorf("OverridePath: %v, want ErrUnsafe", err)
	}
	os.Chmod(root, 0o700)
	if ok, err := b.Exists(); ok || err != nil {
		t.Errorf("Exists in a safe root: %v, %v", ok, err)
	}
}
