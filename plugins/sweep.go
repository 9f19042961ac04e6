package plugins

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// sweepDriversDirs removes, from base, the drivers folders of processes
// that died without removing theirs: "cb-drivers-PID-*" of ours whose PID
// no longer runs. A folder of a live process, of another user, or without
// a pid in its name is left alone.
func sweepDriversDirs(base string, log *slog.Logger) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := driversDirPID(e.Name())
		if !ok || !e.IsDir() || processRuns(pid) {
			continue
		}
		p := filepath.Join(base, e.Name())
		fi, err := os.Lstat(p)
		if err != nil || !ownedByUs(fi) {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			log.Debug("cannot remove the drivers folder of a process gone", "path", p, "error", err)
			continue
		}
		log.Debug("removed the drivers folder of a process gone", "path", p, "pid", pid)
	}
}

// driversDirPID reads the pid out of a drivers folder's name.
func driversDirPID(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, wire.DriversDirPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(digits)
	return pid, ok && err == nil && pid > 0
}

// processRuns reports whether a process with pid exists (a zombie counts).
func processRuns(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func ownedByUs(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
