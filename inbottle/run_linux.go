//go:build linux

package inbottle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// forwardedSignals are passed on to the agent. SIGWINCH is not: with a
// terminal the kernel sends it to the agent's foreground group itself.
var forwardedSignals = []os.Signal{
	syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
}

// Exit statuses of init's own failures, as a shell gives them.
const (
	statusInitFailed  = 125
	statusCannotExec  = 126
	statusNotFound    = 127
	initMessagePrefix = "claude-bottle init: "
)

// Init runs as the bottle's PID 1: it makes the agent's HOME exist and
// belong to the host user, serves the loopback forwarder, starts the agent
// as that user with no capability, then reaps every orphan and passes
// signals on until the agent ends. It returns the status to exit with:
// the agent's, or 125-127 when the agent could not be started (the reason
// is written to stderr, one line).
func Init(ctx context.Context, o InitOptions, stderr io.Writer) int {
	warn := func(format string, args ...any) { fmt.Fprintf(stderr, initMessagePrefix+format+"\n", args...) }
	if os.Getpid() != 1 {
		warn("runs only as a bottle's PID 1 (claude-bottle launch starts it)")
		return statusInitFailed
	}
	home := prepareUser(o, warn)
	socket := SocketPath()
	if ln, err := net.Listen("tcp", ForwarderAddr); err != nil {
		warn("the proxy forwarder cannot listen on %s: %v; the agent has no way out", ForwarderAddr, err)
	} else {
		go (&Forwarder{Socket: socket}).Serve(ctx, ln)
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, append([]os.Signal{syscall.SIGCHLD}, forwardedSignals...)...)
	pid, err := startAgent(o.Argv, AgentEnv(os.Environ(), home, o.Proxy), o.UID, o.GID, term.IsTerminal(0))
	if err != nil {
		warn("cannot start the agent %q: %v", o.Argv[0], err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return statusNotFound
		}
		return statusCannotExec
	}
	narrowSelf(o.UID, warn)
	return superviseAgent(pid, sigs)
}

// narrowSelf leaves PID 1, once the agent runs, with what it still needs
// and nothing more. Its real uid becomes the agent's, which is what lets
// it pass signals to the agent without CAP_KILL (kill(2) compares the
// sender's real uid with the target's); its effective uid stays 0, so the
// agent still cannot trace it or read its memory. Its capabilities narrow
// to DAC_OVERRIDE, to reach the bottle socket in the host user's folder.
func narrowSelf(uid int, warn func(string, ...any)) {
	if uid != 0 {
		if err := syscall.Setresuid(uid, 0, 0); err != nil {
			warn("cannot take uid %d as PID 1's real uid (signals may not reach the agent): %v", uid, err)
		}
	}
	if err := keepOnly(unix.CAP_DAC_OVERRIDE); err != nil {
		warn("cannot narrow PID 1's own capabilities: %v", err)
	}
}

// prepareUser makes the agent's HOME and passwd entry, warning (one line
// each) about what it could not do, and returns HOME.
func prepareUser(o InitOptions, warn func(string, ...any)) string {
	var entries []passwdEntry
	if f, err := os.Open("/etc/passwd"); err == nil {
		entries = parsePasswd(f)
		f.Close()
	}
	home := resolveHome(entries, o.ImageUser, o.ImageHome)
	rep, err := ensureHome(home, o.UID, o.GID, mountPoints(), defaultHomeBound)
	switch {
	case err != nil:
		warn("%v", err)
	case rep.Stopped != "":
		warn("gave %s to uid %d only in part: stopped %s (%d entries changed); files deeper in it may not be writable", home, o.UID, rep.Stopped, rep.Changed)
	}
	if line := passwdLine(entries, o.UID, o.GID, o.UserName, home, o.ImageUser); line != "" {
		if err := appendFile("/etc/passwd", line); err != nil && !errors.Is(err, os.ErrNotExist) {
			warn("cannot add uid %d to /etc/passwd: %v", o.UID, err)
		}
	}
	return home
}

// mountPoints lists the bottle's mounts; none is known when mountinfo
// cannot be read, which only makes the HOME pass cross more.
func mountPoints() map[string]bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return map[string]bool{}
	}
	defer f.Close()
	return parseMountInfo(f)
}

// appendFile appends line to an existing file.
func appendFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
