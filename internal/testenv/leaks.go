//go:build linux

package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LeakTagEnv is the environment variable a LeakCheck marks the commands it
// watches with. Every process they start inherits it (go-plugin passes the
// host's environment on to a plugin, a shell to its children), so a
// process left running is found even after it was orphaned.
const LeakTagEnv = "CB_LEAK_TAG"

// LeakCheck finds what commands under test leave behind: processes that
// carry its tag in their environment, and files or sockets in the private
// temporary folder it hands them as TMPDIR.
type LeakCheck struct {
	// Tag is the value of LeakTagEnv in the watched commands.
	Tag string
	// TmpDir is the watched commands' TMPDIR; it must be empty after them.
	TmpDir string
}

// Process is a live process that carries a LeakCheck's tag.
type Process struct {
	PID     int
	PPID    int
	State   string // as in /proc/PID/stat: R, S, D, T, Z...
	Cmdline string
}

// String renders the process for a test failure: its pid and command line.
func (p Process) String() string {
	return fmt.Sprintf("pid %d (parent %d, state %s): %s", p.PID, p.PPID, p.State, p.Cmdline)
}

// NewLeakCheck returns a LeakCheck with a fresh tag and an empty TmpDir. Its
// processes are killed and its folder removed when t ends, so a test that
// fails on a leak does not leak into the next one.
func NewLeakCheck(t testing.TB) *LeakCheck {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	// A short folder keeps unix socket paths in it under 108 bytes.
	dir, err := os.MkdirTemp("", "cb-leak-")
	if err != nil {
		t.Fatal(err)
	}
	l := &LeakCheck{Tag: hex.EncodeToString(b), TmpDir: dir}
	t.Cleanup(func() {
		l.KillAll()
		os.RemoveAll(dir)
	})
	return l
}

// Env returns the variables a watched command must run with: the tag and
// TMPDIR.
func (l *LeakCheck) Env() []string {
	return []string{LeakTagEnv + "=" + l.Tag, "TMPDIR=" + l.TmpDir}
}

// Processes returns the live processes that carry the tag, zombies
// excepted (they run nothing and hold nothing but a pid).
func (l *LeakCheck) Processes() ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	want := []byte(LeakTagEnv + "=" + l.Tag)
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !hasEnvEntry(env, want) {
			continue // gone, or not ours
		}
		p, ok := readProcess(pid)
		if ok && p.State != "Z" && p.State != "X" {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

// hasEnvEntry reports whether the NUL-separated environment env holds
// entry exactly.
func hasEnvEntry(env, entry []byte) bool {
	for _, kv := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// readProcess reads a process's parent, state and command line.
func readProcess(pid int) (Process, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Process{}, false
	}
	// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return Process{}, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 2 {
		return Process{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
	return Process{PID: pid, PPID: ppid, State: f[0], Cmdline: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))}, true
}

// Files returns what is in TmpDir (relative paths, sockets marked), deepest
// entries included.
func (l *LeakCheck) Files() ([]string, error) {
	var out []string
	err := filepath.WalkDir(l.TmpDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if p == l.TmpDir {
			return nil
		}
		rel, _ := filepath.Rel(l.TmpDir, p)
		switch {
		case d.Type()&fs.ModeSocket != 0:
			rel += " (unix socket)"
		case d.IsDir():
			rel += "/"
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", l.TmpDir, err)
	}
	return out, nil
}

// Leftovers waits up to within for the tagged processes to end and TmpDir
// to empty, then returns an error listing whatever is still there, or nil.
// A process that exits by itself a moment after its parent (a plugin that
// notices its host is gone) is not a leak, hence the wait.
func (l *LeakCheck) Leftovers(within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		procs, perr := l.Processes()
		files, ferr := l.Files()
		if err := errors.Join(perr, ferr); err != nil {
			return err
		}
		if len(procs) == 0 && len(files) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, p := range procs {
				fmt.Fprintf(&b, "\n  process left running: %s", p)
			}
			for _, f := range files {
				fmt.Fprintf(&b, "\n  file left in TMPDIR %s: %s", l.TmpDir, f)
			}
			return fmt.Errorf("left behind after %v:%s", within, b.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Check fails t if anything is left behind after within (see Leftovers).
func (l *LeakCheck) Check(t testing.TB, within time.Duration) {
	t.Helper()
	if err := l.Leftovers(within); err != nil {
		t.Error(err)
	}
}

// KillAll kills every tagged process with SIGKILL, so nothing outlives
// the test that found it.
func (l *LeakCheck) KillAll() {
	procs, _ := l.Processes()
	for _, p := range procs {
		syscall.Kill(p.PID, syscall.SIGKILL)
	}
}

// Containers returns the names of the engine's containers, running or
// not, that carry label (KEY or KEY=VALUE).
func Containers(t testing.TB, label string) []string {
	t.Helper()
	out := Docker(t, "ps", "-a", "--filter", "label="+label, "--format", "{{.Names}}")
	if out == "" {
		return nil
	}
	names := strings.Split(out, "\n")
	sort.Strings(names)
	return names
}
