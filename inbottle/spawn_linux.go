//go:build linux

package inbottle

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// startAgent starts argv as uid:gid with every capability set and the
// bounding set empty, and returns its pid. With a terminal it gets its
// own process group in the terminal's foreground, so Ctrl-C reaches the
// agent, not PID 1.
//
// Go cannot fork without exec, and capabilities belong to a thread, so
// the fork is made from a thread of its own: that thread first empties
// its bounding set and inheritable set (its permitted set still has
// SETUID and SETGID, which the child needs to change user), and the child
// it forks inherits them. An exec with an empty bounding and inheritable
// set gives no capability even to uid 0, and the container's
// no-new-privileges keeps setuid files from giving any back. The thread is
// never unlocked, so Go ends it with its goroutine.
func startAgent(argv, env []string, uid, gid int, tty bool) (int, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
			Setpgid:    tty,
			Foreground: tty,
			Ctty:       0,
		},
	}
	type result struct {
		pid int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see above
		if err := narrowThread(); err != nil {
			ch <- result{err: err}
			return
		}
		pid, err := syscall.ForkExec(path, argv, attr)
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}

// narrowThread empties the calling thread's bounding set and its
// inheritable (hence ambient) set.
func narrowThread() error {
	for c := 0; c <= lastCap(); c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("clearing the inheritable capabilities: %w", err)
	}
	return nil
}

// lastCap is the highest capability the kernel knows.
func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if n, perr := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && perr == nil {
		return n
	}
	return unix.CAP_LAST_CAP
}

// keepOnly narrows every thread of this process to the one capability
// PID 1 still needs once the agent runs: DAC_OVERRIDE, to connect to the
// bottle socket in a folder owned by the host user. It needs a binary
// built without cgo (AllThreadsSyscall), which the mounted one is.
func keepOnly(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[c/32].Effective = 1 << (c % 32)
	data[c/32].Permitted = 1 << (c % 32)
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	runtime.KeepAlive(&hdr)
	runtime.KeepAlive(&data)
	if errno != 0 {
		return errno
	}
	return nil
}

// superviseAgent reaps every child PID 1 inherits and passes signals on
// to the agent until the agent itself is reaped; it returns the agent's
// status as a shell reports it (128 + the signal when it was killed).
func superviseAgent(pid int, sigs <-chan os.Signal) int {
	tick := time.NewTicker(time.Second) // in case a SIGCHLD was coalesced away
	defer tick.Stop()
	for {
		if status, done := reap(pid); done {
			return status
		}
		select {
		case sig := <-sigs:
			if s, ok := sig.(syscall.Signal); ok && s != syscall.SIGCHLD {
				syscall.Kill(pid, s)
			}
		case <-tick.C:
		}
	}
}

// reap collects every child that has ended, without waiting; done is true
// once pid is among them.
func reap(pid int) (status int, done bool) {
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil || wpid <= 0 {
			return status, done
		}
		if wpid == pid {
			done = true
			status = ws.ExitStatus()
			if ws.Signaled() {
				status = 128 + int(ws.Signal())
			}
		}
	}
}
