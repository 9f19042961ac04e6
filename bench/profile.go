package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	dockerfile "github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/tonistiigi/fsutil"

	"github.com/claude-bottle/claude-bottle/driver"
)

// profileOptions are buildprof's flags.
type profileOptions struct {
	repo, cache, workload, prep, frontend string
	runs                                  int
	load                                  bool
	cpuProfile, heapProfile               string
}

// Profile runs one workload's builds in this process against a fresh
// standalone buildkitd, with CPU and peak-heap profiles, to find where a
// case's time and memory go. With -frontend it compares our driver with
// BuildKit's client called directly, the Dockerfile frontend run here
// (client) or in the daemon (daemon). It is a tool for people, not part of
// the bench's table.
func Profile(args []string, stdout, stderr io.Writer) int {
	var o profileOptions
	fs := flag.NewFlagSet("buildprof", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache, _ := os.UserCacheDir()
	fs.StringVar(&o.repo, "repo", ".", "the claude-bottle repo root (its bin/ holds buildkitd)")
	fs.StringVar(&o.cache, "cache", filepath.Join(cache, "claude-bottle", "bench"), "folder of the generated big workload")
	fs.StringVar(&o.workload, "workload", "big", "small or big")
	fs.StringVar(&o.prep, "prep", "noop", "before each counted run: noop, touch or edit")
	fs.StringVar(&o.frontend, "frontend", "driver", "driver (our buildkit driver), client (BuildKit's client with the frontend in this process) or daemon (the daemon's dockerfile.v0)")
	fs.IntVar(&o.runs, "runs", 3, "counted runs after one warm-up")
	fs.BoolVar(&o.load, "load", true, "load into the Docker engine (driver only); false exports type=image")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the counted runs here")
	fs.StringVar(&o.heapProfile, "heapprofile", "", "write the heap profile taken when the heap peaked here")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := profile(context.Background(), o, stdout); err != nil {
		fmt.Fprintf(stderr, "buildprof: %v\n", err)
		return 1
	}
	return 0
}

func profile(ctx context.Context, o profileOptions, out io.Writer) error {
	work, err := os.MkdirTemp("/tmp", "cb-prof-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bk, err := StartBuildkitd(ctx, filepath.Join(o.repo, "bin", "buildkitd"), work, nil)
	if err != nil {
		return err
	}
	defer bk.Stop()
	w, err := profileWorkload(o, work)
	if err != nil {
		return err
	}
	build, err := profileBuilder(ctx, o, bk.Addr, w)
	if err != nil {
		return err
	}
	if err := build(ctx); err != nil { // warm-up
		return fmt.Errorf("warm-up build: %w", err)
	}
	hp := watchHeap()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for i := range o.runs {
		switch o.prep {
		case "edit":
			err = w.Edit()
		case "touch":
			err = w.Touch()
		}
		if err != nil {
			return err
		}
		start := time.Now()
		if err := build(ctx); err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		fmt.Fprintf(out, "run %d: %.3fs\n", i+1, time.Since(start).Seconds())
	}
	peak, prof := hp.stop()
	hwm, _ := vmHWM(os.Getpid())
	fmt.Fprintf(out, "peak heap objects %s, peak RSS of this process %s\n", humanBytes(int64(peak)), humanBytes(hwm))
	if o.heapProfile != "" {
		return os.WriteFile(o.heapProfile, prof, 0o644)
	}
	return nil
}

func profileWorkload(o profileOptions, work string) (*workload, error) {
	if o.workload == "small" {
		return newWorkload("small", filepath.Join(work, "small"), "app", smallDockerfile, busybox, map[string]string{"app/a.txt": "hello\n"})
	}
	ctxDir, err := EnsureTree(filepath.Join(o.cache, "big"), BigTree)
	if err != nil {
		return nil, err
	}
	return newWorkload("big", ctxDir, "data", bigDockerfile, busybox, nil)
}

// profileBuilder returns one build of w, made the way -frontend says.
func profileBuilder(ctx context.Context, o profileOptions, addr string, w *workload) (func(context.Context) error, error) {
	tag := "cb-bench-prof-" + w.name + ":latest"
	if o.frontend == "driver" {
		f, err := driver.Lookup("buildkit")
		if err != nil {
			return nil, err
		}
		b, err := f.New(ctx, driver.Config{BuildKitAddr: addr})
		if err != nil {
			return nil, err
		}
		req := driver.Request{Dockerfile: w.dockerfile, ContextDir: w.ctx, Tags: []string{tag}}
		if !o.load {
			req.Outputs = []driver.Output{{Type: "image", Attrs: map[string]string{"name": tag}}}
		}
		return func(ctx context.Context) error { _, err := b.Build(ctx, req, nil); return err }, nil
	}
	c, err := bkclient.New(ctx, addr)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		fsys, err := fsutil.NewFS(w.ctx)
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(w.ctx))
		opt := bkclient.SolveOpt{
			LocalMounts:   map[string]fsutil.FS{"context": fsys, "dockerfile": fsys},
			FrontendAttrs: map[string]string{"filename": "Dockerfile"},
			Exports:       []bkclient.ExportEntry{{Type: bkclient.ExporterImage, Attrs: map[string]string{"name": tag}}},
			SharedKey:     "claude-bottle-" + hex.EncodeToString(sum[:8]),
		}
		ch := make(chan *bkclient.SolveStatus)
		go func() {
			for range ch {
			}
		}()
		if o.frontend == "daemon" {
			opt.Frontend = "dockerfile.v0"
			_, err = c.Solve(ctx, nil, opt, ch)
		} else {
			_, err = c.Build(ctx, opt, "bench", dockerfile.Build, ch)
		}
		return err
	}, nil
}

// heapWatch samples the heap every 20 ms and keeps a heap profile taken
// whenever the heap reaches a new high.
type heapWatch struct {
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peak  uint64
	prof  []byte
}

func watchHeap() *heapWatch {
	h := &heapWatch{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak*21/20 {
				runtime.GC() // the heap profile shows the state as of the last GC
				var b bytes.Buffer
				pprof.Lookup("heap").WriteTo(&b, 0)
				h.mu.Lock()
				h.peak, h.prof = v, b.Bytes()
				h.mu.Unlock()
			}
			select {
			case <-h.stopc:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapWatch) stop() (uint64, []byte) {
	close(h.stopc)
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak, h.prof
}
