package dockercli

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"syscall"
	"time"
)

// run runs docker with args and env, feeding it stdin (when not nil, then
// closed) and its output to pr, until it exits. When ctx ends first,
// docker and its plugins (one process group) get SIGINT, which makes the
// CLI cancel the build in the engine, and SIGKILL if they are still there
// after grace.
func run(ctx context.Context, path string, args, env []string, stdin io.ReadCloser, pr *progress, grace time.Duration) error {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	stdout, stderr := pr.writer(1), pr.writer(2)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that a signal reaches the buildx plugin
	// too, and a terminal's Ctrl-C reaches it only through ctx.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A stray grandchild holding the output pipes must not hang Wait.
	cmd.WaitDelay = grace + time.Second
	var pipe io.WriteCloser
	if stdin != nil {
		defer stdin.Close()
		var err error
		if pipe, err = cmd.StdinPipe(); err != nil {
			return err
		}
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	fed := make(chan error, 1)
	if stdin != nil {
		go func() { fed <- feed(cmd.Process.Pid, pipe, stdin) }()
	} else {
		fed <- nil
	}
	exited := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		pgid := -cmd.Process.Pid
		_ = syscall.Kill(pgid, syscall.SIGINT)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited:
		case <-t.C:
			_ = syscall.Kill(pgid, syscall.SIGKILL)
		}
	}()
	err := cmd.Wait()
	close(exited)
	<-stopped
	stdout.flush()
	stderr.flush()
	if sendErr := <-fed; sendErr != nil {
		return sendErr
	}
	return err
}

// contextSendError is a failure to read the build context that run was
// feeding docker: docker was killed before it could see the stream end.
type contextSendError struct{ err error }

func (e *contextSendError) Error() string { return fmt.Sprintf("reading the build context: %v", e.err) }
func (e *contextSendError) Unwrap() error { return e.err }

// feed copies src into docker's stdin. A stream that fails part-way must
// not reach docker as a short tar that merely ends (the daemon would build
// from the files sent so far), so docker's process group is killed before
// its stdin is closed. A write error means docker has gone: its own exit
// status tells why.
func feed(pid int, stdin io.WriteCloser, src io.Reader) error {
	r := &readTracker{r: src}
	_, _ = io.Copy(stdin, r)
	if r.err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		stdin.Close()
		return &contextSendError{err: r.err}
	}
	stdin.Close()
	return nil
}

// readTracker remembers the first error other than io.EOF its reader gave.
type readTracker struct {
	r   io.Reader
	err error
}

func (t *readTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}
