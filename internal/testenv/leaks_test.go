//go:build linux

package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLeakCheckFindsOrphans starts a shell that leaves a tagged sleep
// behind and exits: the orphan is found by its tag (an untagged sleep is
// not), and KillAll ends it.
func TestLeakCheckFindsOrphans(t *testing.T) {
	l := NewLeakCheck(t)
	if err := l.Leftovers(0); err != nil {
		t.Fatalf("a fresh LeakCheck reports leftovers: %v", err)
	}
	untagged := exec.Command("sleep", "30")
	if err := untagged.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { untagged.Process.Kill(); untagged.Wait() })

	sh := exec.Command("sh", "-c", "sleep 31 >/dev/null 2>&1 & echo $!")
	sh.Env = append(os.Environ(), l.Env()...)
	out, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	orphan := strings.TrimSpace(string(out))
	procs, err := l.Processes()
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].Cmdline != "sleep 31" || strconv.Itoa(procs[0].PID) != orphan {
		t.Fatalf("Processes() = %v, want only the orphaned sleep 31 (pid %s)", procs, orphan)
	}
	err = l.Leftovers(100 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "process left running: pid "+orphan) || !strings.Contains(err.Error(), "sleep 31") {
		t.Fatalf("Leftovers() = %v, want the orphan named", err)
	}
	l.KillAll()
	if err := l.Leftovers(5 * time.Second); err != nil {
		t.Fatalf("after KillAll: %v", err)
	}
	if untagged.ProcessState != nil {
		t.Fatal("KillAll touched an untagged process")
	}
}

// TestLeakCheckFindsFiles leaves a file, a folder and a bound unix socket
// in TMPDIR: each is reported, and a file removed in time is not.
func TestLeakCheckFindsFiles(t *testing.T) {
	l := NewLeakCheck(t)
	sock := filepath.Join(l.TmpDir, "plugin-1", "plugin.sock")
	if err := os.Mkdir(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // as a SIGKILLed plugin leaves it
	ln.Close()
	WriteFiles(t, l.TmpDir, map[string]string{"claude-bottle-docker-1/iid": "sha256:x"})
	err = l.Leftovers(50 * time.Millisecond)
	for _, want := range []string{"plugin-1/plugin.sock (unix socket)", "claude-bottle-docker-1/iid", "plugin-1/"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Leftovers() = %v, want %q named", err, want)
		}
	}
	time.AfterFunc(100*time.Millisecond, func() {
		os.RemoveAll(filepath.Join(l.TmpDir, "plugin-1"))
		os.RemoveAll(filepath.Join(l.TmpDir, "claude-bottle-docker-1"))
	})
	if err := l.Leftovers(5 * time.Second); err != nil {
		t.Errorf("files removed within the wait are reported: %v", err)
	}
}
