package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// versionedDockerfile returns writer w's i-th Dockerfile, about 100 KB, in
// which every line names (w, i): a torn or mixed file cannot pass for one.
func versionedDockerfile(w, i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# version %d %d\nFROM scratch\n", w, i)
	for line := 0; b.Len() < 100<<10; line++ {
		fmt.Fprintf(&b, "# writer %d write %d line %d: the quick brown fox jumps over the lazy dog\n", w, i, line)
	}
	fmt.Fprintf(&b, "LABEL version=\"%d.%d\"\n", w, i)
	return b.Bytes()
}

// checkWhole fails unless data is exactly one version that some writer wrote.
func checkWhole(data []byte) error {
	var w, i int
	if _, err := fmt.Sscanf(string(data), "# version %d %d\n", &w, &i); err != nil {
		return fmt.Errorf("a read of %d bytes has no version header: %q...", len(data), data[:min(len(data), 40)])
	}
	if !bytes.Equal(data, versionedDockerfile(w, i)) {
		return fmt.Errorf("a read of %d bytes says version %d.%d but is not it whole", len(data), w, i)
	}
	return nil
}

// readUntil reads path until done closes and returns how many whole reads
// it saw, or the first torn one.
func readUntil(path string, done <-chan struct{}) (int, error) {
	reads := 0
	for {
		select {
		case <-done:
			return reads, nil
		default:
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return reads, err
		}
		if err := checkWhole(data); err != nil {
			return reads, err
		}
		reads++
	}
}

func TestConcurrentSetOverrideGoroutines(t *testing.T) {
	s := newStore(t)
	const writers, writes = 6, 10
	done := make(chan struct{})
	var reads atomic.Int64
	readErr := make(chan error, 1)
	go func() {
		n, err := readUntil(filepath.Join(s.StateDir(), "race", DockerfileName), done)
		reads.Store(int64(n))
		readErr <- err
	}()
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes)
	for w := range writers {
		wg.Go(func() {
			b := mustBottle(t, s, "race") // each writer opens its own, as separate commands do
			for i := range writes {
				if err := b.SetOverride(versionedDockerfile(w, i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(done)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent SetOverride: %v", err)
	}
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	finalWhole(t, s, "race")
	t.Logf("%d writers x %d writes, %d whole reads", writers, writes, reads.Load())
}

// TestConcurrentSetOverrideProcesses runs several real processes (this test
// binary again, as TestHelperWriterProcess) writing the same bottle's
// override from a fresh root, while this process reads it.
func TestConcurrentSetOverrideProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping multi-process test in -short mode")
	}
	s := newStore(t)
	const procs, writes = 4, 10
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmds := make([]*exec.Cmd, procs)
	outs := make([]bytes.Buffer, procs)
	for w := range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWriterProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CB_STATE_HELPER=writer", "CB_STATE_ROOT="+s.Root(),
			"CB_STATE_WRITER="+strconv.Itoa(w+100), "CB_STATE_WRITES="+strconv.Itoa(writes))
		cmd.Stdout, cmd.Stderr = &outs[w], &outs[w]
		cmds[w] = cmd
	}
	done := make(chan struct{})
	readErr := make(chan error, 1)
	var reads int
	go func() {
		var err error
		reads, err = readUntil(filepath.Join(s.StateDir(), "race", DockerfileName), done)
		readErr <- err
	}()
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for w, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("writer process %d: %v\n%s", w, err, outs[w].String())
		}
	}
	close(done)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	finalWhole(t, s, "race")
	t.Logf("%d processes x %d writes, %d whole reads", procs, writes, reads)
}

// TestHelperWriterProcess is not a test: it is the body of a writer process
// for TestConcurrentSetOverrideProcesses.
func TestHelperWriterProcess(t *testing.T) {
	if os.Getenv("CB_STATE_HELPER") != "writer" {
		return
	}
	s, err := Open(os.Getenv("CB_STATE_ROOT"))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := strconv.Atoi(os.Getenv("CB_STATE_WRITER"))
	writes, _ := strconv.Atoi(os.Getenv("CB_STATE_WRITES"))
	b := mustBottle(t, s, "race")
	for i := range writes {
		if err := b.SetOverride(versionedDockerfile(w, i)); err != nil {
			t.Fatalf("writer %d write %d: %v", w, i, err)
		}
	}
}

// finalWhole checks the store after a race: one whole override, mode 0644,
// format version 1, and no temporary file left behind.
func finalWhole(t *testing.T, s *Store, slug string) {
	t.Helper()
	b := mustBottle(t, s, slug)
	data, ok, err := b.Override()
	if !ok || err != nil {
		t.Fatalf("after the race Override() = %v, %v", ok, err)
	}
	if err := checkWhole(data); err != nil {
		t.Fatalf("after the race: %v", err)
	}
	if fi, _ := os.Stat(b.DockerfilePath()); fi.Mode().Perm() != 0o644 {
		t.Errorf("after the race the override has mode %v", fi.Mode())
	}
	if v, err := s.Version(); v != FormatVersion || err != nil {
		t.Errorf("after the race Version() = %d, %v", v, err)
	}
	noTemps(t, b.Dir())
	noTemps(t, s.StateDir())
}
