package dockercli

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

// run runs docker with args and env, feeding its output to pr, until it
// exits. When ctx ends first, docker and its plugins (one process group)
// get SIGINT, which makes the CLI cancel the build in the engine, and
// SIGKILL if they are still there after grace.
func run(ctx context.Context, path string, args, env []string, pr *progress, grace time.Duration) error {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	stdout, stderr := pr.writer(1), pr.writer(2)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that a signal reaches the buildx plugin
	// too, and a terminal's Ctrl-C reaches it only through ctx.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A stray grandchild holding the output pipes must not hang Wait.
	cmd.WaitDelay = grace + time.Second
	if err := cmd.Start(); err != nil {
		return err
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
	return err
}
