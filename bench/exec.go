package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// command is one process a contender runs.
type command struct {
	name string
	args []string
	// env is added to the bench's environment.
	env []string
}

func (c command) String() string {
	return strings.TrimSpace(strings.Join(c.env, " ") + " " + c.name + " " + strings.Join(c.args, " "))
}

// probe collects what a run measured besides its time.
type probe struct {
	// rss, when set, asks for the process tree's peak RSS.
	rss  bool
	peak Peak
	// elapsed, when a job sets it, replaces the run's wall time (for a job
	// whose set-up and tear-down must not count).
	elapsed time.Duration
}

func (c command) cmd(ctx context.Context) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.name, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	// Its own process group, so a timeout kills what it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs c to its end; a failure carries the tail of its output.
func (c command) run(ctx context.Context, p *probe) error {
	var out tailBuffer
	cmd := c.cmd(ctx)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	var w *rssWatch
	if p != nil && p.rss {
		w = watchRSS(cmd.Process.Pid)
	}
	err := cmd.Wait()
	if w != nil {
		p.peak = w.Stop()
	}
	if err != nil {
		return fmt.Errorf("%s: %w: %s", c, err, out.tail())
	}
	return nil
}

// output runs c and returns its stdout.
func (c command) output(ctx context.Context) (string, error) {
	var stdout, stderr tailBuffer
	cmd := c.cmd(ctx)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", c, err, stderr.tail())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// pipe runs a | b with a kernel pipe between them, as a shell would, and
// fails if either fails.
func pipe(ctx context.Context, a, b command) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	var aOut, bOut tailBuffer
	ca, cb := a.cmd(ctx), b.cmd(ctx)
	ca.Stdout, ca.Stderr = w, &aOut
	cb.Stdin, cb.Stdout, cb.Stderr = r, &bOut, &bOut
	if err := ca.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("%s: %w", a, err)
	}
	if err := cb.Start(); err != nil {
		ca.Process.Kill()
		ca.Wait()
		r.Close()
		w.Close()
		return fmt.Errorf("%s: %w", b, err)
	}
	// The children hold their own copies of the pipe's ends.
	r.Close()
	w.Close()
	errA, errB := ca.Wait(), cb.Wait()
	if errA != nil {
		errA = fmt.Errorf("%s: %w: %s", a, errA, aOut.tail())
	}
	if errB != nil {
		errB = fmt.Errorf("%s: %w: %s", b, errB, bOut.tail())
	}
	return errors.Join(errA, errB)
}

// tailBuffer keeps the last 16 KB written to it.
type tailBuffer struct{ bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	const keep = 16 << 10
	n, _ := t.Buffer.Write(p)
	if t.Len() > 2*keep {
		b := t.Bytes()[t.Len()-keep:]
		t.Reset()
		t.Buffer.Write(b)
	}
	return n, nil
}

// tail is the last few lines, for error messages.
func (t *tailBuffer) tail() string {
	lines := strings.Split(strings.TrimSpace(t.String()), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}
