package clirun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Options say what Run does with the CLI's output and how it stops it.
type Options struct {
	// Line receives each line of the CLI's output, stream 1 (stdout) or 2
	// (stderr), as the CLI writes them (a line a terminal would redraw
	// with carriage returns comes as what it would show last). Run calls
	// it from one goroutine at a time. Nil drops the output.
	Line func(stream int, line string)
	// KillAfter is how long a canceled CLI has, after SIGTERM, to exit
	// before it is killed; default 10 s.
	KillAfter time.Duration
}

// Run starts cmd, passes its output to o.Line line by line, and waits for
// it to exit. When ctx ends first, the CLI gets SIGTERM, which lets it
// stop its own work (a docker build tells the daemon), and SIGKILL if it
// has not exited after o.KillAfter; Run then returns a driver.ErrCanceled.
// A CLI that exits non-zero gives an *exec.ExitError. Output that a child
// of the CLI still writes after the CLI has exited is read for a moment
// (outputGrace), then dropped. cmd's Stdout and Stderr must be unset, and
// cmd made with exec.Command: Run ties it to ctx itself.
func Run(ctx context.Context, cmd *exec.Cmd, o Options) error {
	if cmd.Stdout != nil || cmd.Stderr != nil {
		return errors.New("clirun: cmd.Stdout and cmd.Stderr must be unset")
	}
	if o.KillAfter <= 0 {
		o.KillAfter = 10 * time.Second
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
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close() // the CLI holds its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	read := readOutput(o.Line, outR, errR)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	err = waitOrKill(ctx, cmd, exited, o.KillAfter)
	select {
	case <-read:
	case <-time.After(outputGrace):
		outR.Close() // a child still holds the pipes: stop reading
		errR.Close()
		<-read
	}
	outR.Close()
	errR.Close()
	if ctx.Err() != nil {
		return driver.Canceled(ctx, fmt.Errorf("%s stopped: %w", cmd.Path, context.Cause(ctx)))
	}
	return err
}

// outputGrace is how long Run reads the output of a CLI that has exited.
const outputGrace = time.Second

// readOutput reads both streams, passing their lines to line one at a
// time; the channel closes once both are read to their end.
func readOutput(line func(stream int, s string), out, errs io.Reader) <-chan struct{} {
	var mu sync.Mutex
	send := func(stream int, s string) {
		if line == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		line(stream, s)
	}
	var wg sync.WaitGroup
	for stream, r := range map[int]io.Reader{1: out, 2: errs} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			readLines(r, func(s string) { send(stream, s) })
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// waitOrKill waits for the CLI to exit; once ctx has ended, it sends it
// SIGTERM and, after killAfter, SIGKILL.
func waitOrKill(ctx context.Context, cmd *exec.Cmd, exited <-chan error, killAfter time.Duration) error {
	select {
	case err := <-exited:
		return err
	case <-ctx.Done():
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		return err
	case <-time.After(killAfter):
		cmd.Process.Kill()
		return <-exited
	}
}

// readLines calls fn for each line of r.
func readLines(r io.Reader, fn func(string)) {
	br := bufio.NewReaderSize(r, 64*1024)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			// Keep a long line up to a bound; what is past it is not
			// progress anyone reads.
			if len(long) < maxLine {
				long = append(long, chunk...)
			}
			continue
		case len(chunk) > 0 || len(long) > 0:
			fn(CleanLine(append(long, chunk...)))
			long = nil
		}
		if err != nil {
			return
		}
	}
}

// maxLine bounds the part of one line that is kept.
const maxLine = 1 << 20
