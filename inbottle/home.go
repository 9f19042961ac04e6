package inbottle

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// passwdEntry is one line of /etc/passwd.
type passwdEntry struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string
}

// maxPasswd bounds how much of the image's /etc/passwd is read.
const maxPasswd = 1 << 20

// parsePasswd reads passwd lines, skipping any that do not parse.
func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	sc := bufio.NewScanner(io.LimitReader(r, maxPasswd))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) != 7 || f[0] == "" {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
	}
	return out
}

// lookupUser finds the entry of a Docker user spec: "name", "uid",
// "name:group" or "uid:gid" (the group is not needed for a home).
func lookupUser(entries []passwdEntry, spec string) (passwdEntry, bool) {
	name, _, _ := strings.Cut(spec, ":")
	uid, err := strconv.Atoi(name)
	for _, e := range entries {
		if e.Name == name || (err == nil && e.UID == uid) {
			return e, true
		}
	}
	return passwdEntry{}, false
}

// resolveHome returns the agent's HOME in the bottle: the home of the
// image's declared USER in its /etc/passwd, else the image's HOME
// variable, else root's home (root is the user Docker runs an image that
// declares none as), else /root.
func resolveHome(entries []passwdEntry, imageUser, imageHome string) string {
	if imageUser != "" {
		if e, ok := lookupUser(entries, imageUser); ok && filepath.IsAbs(e.Home) {
			return filepath.Clean(e.Home)
		}
	}
	if filepath.IsAbs(imageHome) {
		return filepath.Clean(imageHome)
	}
	if e, ok := lookupUser(entries, "0"); ok && filepath.IsAbs(e.Home) {
		return filepath.Clean(e.Home)
	}
	return "/root"
}

// homeBound limits the ownership pass over HOME, so that an image with a
// huge home cannot stall the bottle's start.
type homeBound struct {
	Entries  int
	Duration time.Duration
}

// defaultHomeBound is measured generous: 100,000 entries take well under
// the time bound on an overlay root when nothing needs changing.
var defaultHomeBound = homeBound{Entries: 100_000, Duration: 5 * time.Second}

// homeReport says what the ownership pass did.
type homeReport struct {
	// Visited and Changed count entries looked at and given to the agent.
	Visited, Changed int
	// Stopped says why the pass ended early: "" when it covered HOME.
	Stopped string
	// Skipped is set when HOME is "/" or a mount (a host folder): its
	// owner is left alone.
	Skipped string
}

// ensureHome makes home exist and belong to uid:gid, with what is in it,
// within bound. It never follows a symbolic link, never crosses into a
// mount (a host folder mounted under HOME, such as the working folder,
// keeps its owners), and leaves "/" and a home that is itself a mount
// alone.
func ensureHome(home string, uid, gid int, mounts map[string]bool, bound homeBound) (homeReport, error) {
	var rep homeReport
	if !filepath.IsAbs(home) {
		return rep, fmt.Errorf("HOME %q is not an absolute path", home)
	}
	home = filepath.Clean(home)
	if err := os.MkdirAll(home, 0o755); err != nil {
		return rep, fmt.Errorf("creating HOME %s: %w", home, err)
	}
	switch {
	case home == "/":
		rep.Skipped = "HOME is /"
		return rep, nil
	case mounts[home]:
		rep.Skipped = "HOME is a mounted folder"
		return rep, nil
	}
	deadline := time.Now().Add(bound.Duration)
	errStop := errors.New("stop")
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: leave it, the agent will see why
		}
		if p != home && mounts[p] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if rep.Visited >= bound.Entries {
			rep.Stopped = fmt.Sprintf("after %d entries", rep.Visited)
			return errStop
		}
		if time.Now().After(deadline) {
			rep.Stopped = fmt.Sprintf("after %v", bound.Duration)
			return errStop
		}
		rep.Visited++
		if owned(d, uid, gid) {
			return nil
		}
		if err := os.Lchown(p, uid, gid); err == nil {
			rep.Changed++
		}
		return nil
	})
	if err != nil && err != errStop {
		return rep, err
	}
	return rep, nil
}

// owned reports whether d already belongs to uid:gid.
func owned(d fs.DirEntry, uid, gid int) bool {
	fi, err := d.Info()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid && int(st.Gid) == gid
}

// parseMountInfo returns the mount points listed in /proc/self/mountinfo.
func parseMountInfo(r io.Reader) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 4 {
			out[unescapeMount(f[4])] = true
		}
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// userNameRE is what a passwd name init writes may look like.
var userNameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// passwdLine returns the /etc/passwd line to add so that uid has a name
// and a home in the bottle (tools such as ssh and whoami need one), or ""
// when the file already has an entry for uid. The name is the host
// user's when it is a plain name and free, else "claude-bottle"; the
// shell is the image user's, else /bin/sh.
func passwdLine(entries []passwdEntry, uid, gid int, name, home, imageUser string) string {
	taken := map[string]bool{}
	for _, e := range entries {
		if e.UID == uid {
			return ""
		}
		taken[e.Name] = true
	}
	if !userNameRE.MatchString(name) || taken[name] {
		name = "claude-bottle"
	}
	if taken[name] {
		return ""
	}
	shell := "/bin/sh"
	if e, ok := lookupUser(entries, imageUser); ok && imageUser != "" && filepath.IsAbs(e.Shell) {
		shell = e.Shell
	}
	return fmt.Sprintf("%s:x:%d:%d:claude-bottle agent:%s:%s\n", name, uid, gid, home, shell)
}
