package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// run runs buildah with args, turning its output into progress events.
// A failure is a driver.ErrBuildFailed naming the failed step with
// buildah's last lines; a canceled ctx stops buildah with SIGTERM.
func (b *builder) run(ctx context.Context, args []string, p *progress) error {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = b.env()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: starting %s: %v", driver.ErrUnsupported, b.bin, err)
	}
	var wg sync.WaitGroup
	for stream, r := range map[int]io.Reader{1: stdout, 2: stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64*1024), 1024*1024)
			for sc.Scan() {
				p.line(stream, sc.Text())
			}
		}()
	}
	wg.Wait()
	err = cmd.Wait()
	if err == nil {
		return nil
	}
	failed := p.finish(err.Error())
	if ctx.Err() != nil {
		return driver.Canceled(ctx, fmt.Errorf("buildah stopped: %w", ctx.Err()))
	}
	where := "buildah " + args[len(b.globalArgs())]
	if failed != "" {
		where = fmt.Sprintf("step %q", failed)
	}
	return fmt.Errorf("%w: %s failed (%v); buildah's last output:\n  %s", driver.ErrBuildFailed, where, err, strings.Join(p.lastLines(), "\n  "))
}

// env is buildah's environment: the plugin's, with the Docker engine the
// host chose for the docker-daemon transport.
func (b *builder) env() []string {
	env := os.Environ()
	if b.dockerHost != "" {
		env = append(env, "DOCKER_HOST="+b.dockerHost)
	}
	return env
}
