package plugins

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHostDeathLeavesNoDriversFolder: a host that dies without Close (a
// panicking test binary, a CLI killed by SIGPIPE) mid-build leaves no
// drivers folder and no process behind: its orphaned plugins remove the
// folder, stop what they started, and exit.
func TestHostDeathLeavesNoDriversFolder(t *testing.T) {
	dir := shortTempDir(t)
	cmd := exec.Command(testSelf(t))
	cmd.Env = append(os.Environ(), "CB_TEST_HOST_DIES_IN="+dir)
	out, err := cmd.CombinedOutput()
	if !strings.Contains(string(out), "the host panics on purpose") {
		t.Fatalf("the host did not die as planned (%v):\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "child.pid"))
	if err != nil {
		t.Fatalf("the driver's child did not start: %v", err)
	}
	child, _ := strconv.Atoi(string(data))
	deadline := time.Now().Add(5 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(dir, "cb-drivers-*"))
		running := processRuns(child) && !zombie(child)
		if len(left) == 0 && !running {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after the host died: drivers folders %v left, the driver's child (pid %d) running: %v", left, child, running)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// zombie reports whether pid has exited but not been reaped.
func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

// TestStaleDriversFoldersAreSwept: the drivers folders of processes gone
// are removed by the next Manager; a live process's, another naming's and
// the Manager's own stay.
func TestStaleDriversFoldersAreSwept(t *testing.T) {
	base := shortTempDir(t)
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(base, fmt.Sprintf("cb-drivers-%d-123", gone.Process.Pid))
	live := filepath.Join(base, fmt.Sprintf("cb-drivers-%d-456", os.Getppid()))
	old := filepath.Join(base, "cb-drivers-789")
	for _, d := range []string{dead, live, old} {
		if err := os.MkdirAll(filepath.Join(d, "tmp-1"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testCtx(t)
	m := newTestManager(t, Options{TempDir: base})
	if err := m.Start(ctx, testDriver); err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{dead: false, live: true, old: true, m.sockDir: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", d, err == nil, want)
		}
	}
}

// shortTempDir is a temporary folder whose path is short enough for the
// Manager to put its sockets there (t.TempDir's are not).
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cbt-")
	if err != nil {
		t.Fatal(err)
	}
	if len(dir) > maxSocketBase {
		t.Skipf("the temporary folder %s is too long for sockets", dir)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
