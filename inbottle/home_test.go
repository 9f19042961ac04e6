package inbottle

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func readPasswdFile(t *testing.T) []passwdEntry {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return parsePasswd(f)
}

func TestParsePasswd(t *testing.T) {
	entries := readPasswdFile(t)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if got := strings.Join(names, " "); got != "root daemon node nohome relative" {
		t.Errorf("entries = %s", got)
	}
	if e, ok := lookupUser(entries, "1000:1000"); !ok || e.Name != "node" || e.Home != "/home/node" {
		t.Errorf("lookupUser(1000:1000) = %+v, %v", e, ok)
	}
}

func TestResolveHome(t *testing.T) {
	entries := readPasswdFile(t)
	tests := []struct {
		name                 string
		entries              []passwdEntry
		imageUser, imageHome string
		want                 string
	}{
		{"declared user's home", entries, "node", "/ignored", "/home/node"},
		{"declared by uid and group", entries, "1000:1000", "", "/home/node"},
		{"user without a home: image HOME", entries, "nohome", "/srv/agent/", "/srv/agent"},
		{"relative home ignored", entries, "relative", "", "/root"},
		{"unknown user: image HOME", entries, "ghost", "/home/ghost", "/home/ghost"},
		{"no USER: image HOME before root's", entries, "", "/home/agent", "/home/agent"},
		{"no USER, no HOME: root's home", entries, "", "", "/root"},
		{"no passwd at all (scratch)", nil, "", "", "/root"},
		{"relative HOME ignored", nil, "", "rel", "/root"},
	}
	for _, tc := range tests {
		if got := resolveHome(tc.entries, tc.imageUser, tc.imageHome); got != tc.want {
			t.Errorf("%s: resolveHome = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseMountInfo(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := parseMountInfo(f)
	for _, p := range []string{"/", "/proc", "/srv/work/my project", "/opt/claude-bottle/bin/claude-bottle", "/run/claude-bottle"} {
		if !m[p] {
			t.Errorf("mount point %q not found in %v", p, m)
		}
	}
	if len(m) != 5 {
		t.Errorf("%d mount points, want 5: %v", len(m), m)
	}
}

// TestEnsureHome gives a home and what is in it to a user, without
// crossing into a mount, and within its bound. Changing owners needs
// root.
func TestEnsureHome(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	const uid, gid = 4321, 4322
	dir := t.TempDir()
	home := filepath.Join(dir, "home", "node")
	for _, p := range []string{".claude/projects/x.jsonl", "work/mounted/host-file", "notes"} {
		os.MkdirAll(filepath.Dir(filepath.Join(home, p)), 0o755)
		os.WriteFile(filepath.Join(home, p), nil, 0o644)
	}
	os.Symlink("/etc/passwd", filepath.Join(home, "link"))
	mounts := map[string]bool{filepath.Join(home, "work/mounted"): true}

	rep, err := ensureHome(home, uid, gid, mounts, defaultHomeBound)
	if err != nil || rep.Stopped != "" || rep.Skipped != "" {
		t.Fatalf("ensureHome = %+v, %v", rep, err)
	}
	for _, p := range []string{"", ".claude", ".claude/projects/x.jsonl", "work", "notes", "link"} {
		if u, g := owner(t, filepath.Join(home, p)); u != uid || g != gid {
			t.Errorf("%s owned by %d:%d, want %d:%d", p, u, g, uid, gid)
		}
	}
	for _, p := range []string{"work/mounted", "work/mounted/host-file", "/etc/passwd"} {
		if !filepath.IsAbs(p) {
			p = filepath.Join(home, p)
		}
		if u, _ := owner(t, p); u == uid {
			t.Errorf("%s was given to the agent: it is a mount, or behind a link", p)
		}
	}
	if again, _ := ensureHome(home, uid, gid, mounts, defaultHomeBound); again.Changed != 0 {
		t.Errorf("a second pass changed %d entries, want 0", again.Changed)
	}

	fresh := filepath.Join(dir, "new", "home")
	if rep, err := ensureHome(fresh, uid, gid, nil, defaultHomeBound); err != nil || rep.Changed != 1 {
		t.Errorf("a missing home: %+v, %v", rep, err)
	}
	if rep, _ := ensureHome(home, 0, 0, map[string]bool{home: true}, defaultHomeBound); rep.Skipped == "" || rep.Changed != 0 {
		t.Errorf("a home that is a mount: %+v, want skipped", rep)
	}
}

func TestEnsureHomeBounded(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	home := t.TempDir()
	for i := range 50 {
		os.WriteFile(filepath.Join(home, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), nil, 0o644)
	}
	rep, err := ensureHome(home, 4321, 4321, nil, homeBound{Entries: 10, Duration: time.Minute})
	if err != nil || rep.Visited != 10 || !strings.Contains(rep.Stopped, "10 entries") {
		t.Errorf("bounded by entries: %+v, %v", rep, err)
	}
	rep, err = ensureHome(home, 4322, 4322, nil, homeBound{Entries: 1000, Duration: -time.Second})
	if err != nil || rep.Visited != 0 || !strings.Contains(rep.Stopped, "after") {
		t.Errorf("bounded by time: %+v, %v", rep, err)
	}
}

func TestEnsureHomeRefuses(t *testing.T) {
	if _, err := ensureHome("relative/home", 1, 1, nil, defaultHomeBound); err == nil {
		t.Error("a relative HOME was accepted")
	}
	if rep, err := ensureHome("/", 1, 1, nil, defaultHomeBound); err != nil || rep.Skipped == "" || rep.Visited != 0 {
		t.Errorf("HOME / = %+v, %v; want left alone", rep, err)
	}
}

func TestPasswdLine(t *testing.T) {
	entries := readPasswdFile(t)
	tests := []struct {
		name      string
		uid       int
		user      string
		imageUser string
		want      string
	}{
		{"uid already there", 1000, "alice", "node", ""},
		{"host name", 501, "alice", "node", "alice:x:501:20:claude-bottle agent:/home/node:/bin/bash\n"},
		{"name taken", 501, "node", "node", "claude-bottle:x:501:20:claude-bottle agent:/home/node:/bin/bash\n"},
		{"unsafe name", 501, "a:b\nroot", "", "claude-bottle:x:501:20:claude-bottle agent:/home/node:/bin/sh\n"},
	}
	for _, tc := range tests {
		if got := passwdLine(entries, tc.uid, 20, tc.user, "/home/node", tc.imageUser); got != tc.want {
			t.Errorf("%s: passwdLine = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func owner(t *testing.T, p string) (int, int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}
