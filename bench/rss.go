package bench

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssWatch polls a process and its descendants for their peak resident
// set size (VmHWM, which the kernel keeps as a high-water mark, so a poll
// that comes late still sees the peak of a live process).
type rssWatch struct {
	root  int
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	peaks map[int]int64 // pid -> VmHWM in bytes
}

// rssPoll is how often the tree is polled: often enough to catch a
// plugin process that lives as long as a build, cheap enough (a few small
// /proc reads) not to weigh on the timing.
const rssPoll = 25 * time.Millisecond

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{root: pid, stop: make(chan struct{}), done: make(chan struct{}), peaks: map[int]int64{}}
	go w.loop()
	return w
}

func (w *rssWatch) loop() {
	defer close(w.done)
	t := time.NewTicker(rssPoll)
	defer t.Stop()
	for {
		w.poll()
		select {
		case <-w.stop:
			return
		case <-t.C:
		}
	}
}

func (w *rssWatch) poll() {
	for _, pid := range append([]int{w.root}, descendants(w.root)...) {
		if hwm, ok := vmHWM(pid); ok {
			w.mu.Lock()
			w.peaks[pid] = max(w.peaks[pid], hwm)
			w.mu.Unlock()
		}
	}
}

// Peak is a process tree's peak RSS: of its root process, and of the
// largest of its descendants (a driver plugin), and how many descendants
// were seen.
type Peak struct {
	Root, Child int64
	Children    int
}

// Stop ends the polling and returns the peaks seen.
func (w *rssWatch) Stop() Peak {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	p := Peak{Root: w.peaks[w.root]}
	for pid, v := range w.peaks {
		if pid != w.root {
			p.Children++
			p.Child = max(p.Child, v)
		}
	}
	return p
}

// descendants lists pid's child processes, and theirs. Each thread keeps
// its own children list, and Go forks from any thread, so all are read.
func descendants(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
				out = append(out, descendants(c)...)
			}
		}
	}
	return out
}

// vmHWM reads a process's peak RSS from /proc/PID/status.
func vmHWM(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	return parseVmHWM(b)
}

// parseVmHWM finds "VmHWM:   1234 kB" in a status file.
func parseVmHWM(status []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err == nil
	}
	return 0, false
}
