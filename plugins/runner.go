package plugins

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin/runner"

	"github.com/claude-bottle/claude-bottle/internal/termsafe"
)

// procRunner is the go-plugin runner for every driver process. Writing our
// own (instead of go-plugin's exec runner) buys four things:
//   - go-plugin makes a private socket folder for runners, used by the
//     plugin's listener and by the host's broker listeners alike, and
//     removes it on Kill;
//   - the plugin runs in its own process group, so killing it also kills
//     what it started (a buildah, a docker CLI);
//   - stray output on the plugin's stdout before the handshake line is
//     skipped instead of failing the handshake;
//   - the host learns when the process has exited as soon as it has, even
//     if a grandchild still holds its pipes, which turns a crash into an
//     error within milliseconds.
type procRunner struct {
	name string // driver name, for logs
	cmd  *exec.Cmd
	// verify runs just before exec: it opens the binary and checks its
	// checksum, and the open file is what is executed (nil: exec by path).
	verify func() (*os.File, error)
	log    *slog.Logger

	stdout         *io.PipeReader // filtered stdout for go-plugin
	stdoutW        *io.PipeWriter
	rawOut, rawErr *os.File

	exited     chan struct{}
	waitErr    error
	stderrDone chan struct{} // closed when go-plugin has read stderr to its end
	stderrOnce sync.Once

	mu        sync.Mutex
	pid       int
	killed    bool // by the host
	outEOF    bool // the plugin closed its stdout
	handshake bool
	version   int
	stray     []string
}

var _ runner.Runner = (*procRunner)(nil)

// handshakeRE finds go-plugin's handshake line: CORE|VERSION|NETWORK|ADDR|PROTOCOL...
var handshakeRE = regexp.MustCompile(`(\d+)\|(\d+)\|(unix|tcp)\|[^|\n]*\|[a-z-]*`)

func newProcRunner(name string, cmd *exec.Cmd, verify func() (*os.File, error), log *slog.Logger) *procRunner {
	r := &procRunner{name: name, cmd: cmd, verify: verify, log: log, exited: make(chan struct{}), stderrDone: make(chan struct{})}
	r.stdout, r.stdoutW = io.Pipe()
	return r
}

// Start verifies the binary and starts it: an installed plugin from the
// descriptor it was verified through, so that a file swapped in after the
// check never runs.
func (r *procRunner) Start(context.Context) error {
	if r.verify != nil {
		bin, err := r.verify()
		if err != nil {
			return err
		}
		defer bin.Close() // the child has its own copy once started
		r.cmd.ExtraFiles = []*os.File{bin}
		r.cmd.Args[0] = r.cmd.Path // the process still shows its name
		r.cmd.Path = execPath
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = outW, errW
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = r.cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	r.rawOut, r.rawErr = outR, errR
	r.mu.Lock()
	r.pid = r.cmd.Process.Pid
	r.mu.Unlock()
	go r.wait()
	go r.filterStdout()
	return nil
}

func (r *procRunner) wait() {
	r.waitErr = r.cmd.Wait()
	close(r.exited)
}

// filterStdout passes the handshake line to go-plugin and logs everything
// else the plugin writes to its real stdout.
func (r *procRunner) filterStdout() {
	br := bufio.NewReaderSize(r.rawOut, 64*1024)
	found := false
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			found = r.stdoutLine(string(line), found)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
	}
	r.mu.Lock()
	r.outEOF = true
	r.mu.Unlock()
	r.stdoutW.Close()
	r.rawOut.Close()
}

func (r *procRunner) stdoutLine(line string, found bool) bool {
	if found {
		r.log.Debug("driver stdout", "line", trimNL(line))
		return true
	}
	m := handshakeRE.FindStringSubmatchIndex(line)
	if m == nil {
		r.noteStray(line)
		return false
	}
	if m[0] > 0 {
		r.noteStray(line[:m[0]])
	}
	v, _ := strconv.Atoi(line[m[4]:m[5]])
	r.mu.Lock()
	r.handshake, r.version = true, v
	r.mu.Unlock()
	// go-plugin reads exactly one line; closing the pipe after it lets its
	// reader finish without waiting for the plugin to exit.
	fmt.Fprintln(r.stdoutW, trimNL(line[m[0]:]))
	r.stdoutW.Close()
	return true
}

func (r *procRunner) noteStray(s string) {
	s = termsafe.Text(trimNL(s))
	if s == "" {
		return
	}
	r.log.Debug("driver wrote to stdout before the plugin handshake; ignored", "line", s)
	r.mu.Lock()
	if len(r.stray) < tailLines {
		r.stray = append(r.stray, s)
	}
	r.mu.Unlock()
}

// Wait waits for the process to end. go-plugin calls it once it has read
// the plugin's stderr to the end, so the pipe can be closed here.
func (r *procRunner) Wait(ctx context.Context) error {
	select {
	case <-r.exited:
		r.rawErr.Close()
		return r.waitErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill kills the plugin's whole process group and waits (briefly) for it.
func (r *procRunner) Kill(context.Context) error {
	r.mu.Lock()
	pid, leaving := r.pid, r.outEOF && !r.handshake
	r.mu.Unlock()
	if pid <= 0 {
		return nil
	}
	if leaving {
		// It closed its stdout without a handshake and is on its way
		// out: let it exit by itself, so its exit status can be told.
		select {
		case <-r.exited:
		case <-time.After(250 * time.Millisecond):
		}
	}
	r.mu.Lock()
	r.killed = r.killed || !r.hasExited()
	r.mu.Unlock()
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing driver %q (pid %d): %w", r.name, pid, err)
	}
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
	}
	// A process that escaped the group may still hold the stderr pipe;
	// closing our end lets go-plugin's reader (and Kill) finish.
	time.AfterFunc(time.Second, func() { r.rawErr.Close() })
	return nil
}

// killGroup kills what is left of the plugin's process group: the
// processes it started, which outlive it when it dies by itself.
func (r *procRunner) killGroup() {
	r.mu.Lock()
	pid := r.pid
	r.mu.Unlock()
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// Stdout is the filtered stdout go-plugin reads the handshake from.
func (r *procRunner) Stdout() io.ReadCloser { return r.stdout }

// Stderr is the plugin's stderr, which go-plugin turns into log lines.
func (r *procRunner) Stderr() io.ReadCloser { return stderrReader{r} }

// stderrReader notes when go-plugin has read the plugin's stderr to its
// end: by then every line it logged has been through the logger, so a
// crash report has them all.
type stderrReader struct{ r *procRunner }

func (s stderrReader) Read(p []byte) (int, error) {
	n, err := s.r.rawErr.Read(p)
	if err != nil {
		s.r.stderrOnce.Do(func() { close(s.r.stderrDone) })
	}
	return n, err
}

func (s stderrReader) Close() error { return s.r.rawErr.Close() }

// drained waits up to d for the plugin's stderr to be read to its end.
func (r *procRunner) drained(d time.Duration) {
	select {
	case <-r.stderrDone:
	case <-time.After(d):
	}
}

// started reports whether the process was started.
func (r *procRunner) started() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pid > 0
}

// Name names the binary; go-plugin names the plugin's logger after it.
func (r *procRunner) Name() string { return r.cmd.Args[0] }

// ID is the pid. Before the start it is a placeholder, so that go-plugin's
// Kill still removes the socket folder after a failed start.
func (r *procRunner) ID() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pid == 0 {
		return "not-started"
	}
	return strconv.Itoa(r.pid)
}

// Diagnose adds nothing: the Manager words start failures itself.
func (r *procRunner) Diagnose(context.Context) string { return "" }

// PluginToHost and HostToPlugin are identities: host and plugin share the
// file system.
func (r *procRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }

// HostToPlugin is an identity, see PluginToHost.
func (r *procRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// hasExited reports whether the process has ended.
func (r *procRunner) hasExited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// exitText says how the process ended, for error messages.
func (r *procRunner) exitText() string {
	if !r.hasExited() {
		return ""
	}
	if r.waitErr == nil {
		return "exit status 0"
	}
	return r.waitErr.Error()
}

// killedByHost reports whether the process was alive when the host
// killed it (a start timeout, Close), as opposed to dying by itself.
func (r *procRunner) killedByHost() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.killed
}

// handshakeInfo returns what the handshake said, if it came.
func (r *procRunner) handshakeInfo() (seen bool, version int, stray []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handshake, r.version, append([]string(nil), r.stray...)
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
