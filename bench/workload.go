package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The workloads' Dockerfiles. Each starts FROM scratch with a static
// busybox (no registry can be reached here) and runs a few steps; the file
// the edit and touch cases change is copied in, so an edit invalidates the
// COPY and the steps after it.
const (
	smallDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY app /app
RUN cat /app/* | wc -c > /app.size
RUN echo small > /kind
`
	bigDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
COPY data /data
RUN echo big > /kind
`
	// bottlesBase is the repo Dockerfile of the bottles workload; each
	// bottle's override is it plus one step of its own.
	bottlesBase = smallDockerfile
)

// bottleOverride is bottle slug's Dockerfile: the base plus one layer.
func bottleOverride(slug string) string {
	return bottlesBase + fmt.Sprintf("RUN echo %s > /bottle\n", slug)
}

// workload is a build context on disk with its Dockerfile, and the files
// the touch and edit cases change.
type workload struct {
	name string
	// ctx is the context folder (the repo root, for claude-bottle);
	// dockerfile the Dockerfile in it that the peers build.
	ctx, dockerfile string
	text            string
	edit, touch     string
	edits           int
}

// newWorkload writes text as ctx/Dockerfile, a copy of busybox, and the
// edit and touch files under ctx/sub (sub is where the Dockerfile COPYs
// from), with fixed contents so that every run starts from the same state.
func newWorkload(name, ctx, sub, text, busybox string, files map[string]string) (*workload, error) {
	w := &workload{
		name: name, ctx: ctx, dockerfile: filepath.Join(ctx, "Dockerfile"), text: text,
		edit: filepath.Join(ctx, sub, "edit.txt"), touch: filepath.Join(ctx, sub, "touch.txt"),
	}
	all := map[string]string{"Dockerfile": text, sub + "/edit.txt": "edit 0\n", sub + "/touch.txt": "touch\n"}
	for k, v := range files {
		all[k] = v
	}
	for rel, content := range all {
		p := filepath.Join(ctx, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, fmt.Errorf("reading the static busybox %s: %w (apt-get install busybox-static)", busybox, err)
	}
	if err := os.WriteFile(filepath.Join(ctx, "busybox"), bb, 0o755); err != nil {
		return nil, err
	}
	// A fixed mtime, so the first build of every run sees the same files,
	// and an up-to-date check records its key from the warm-up on (a file
	// written within buildkey.RacyWindow is not trusted).
	epoch := time.Unix(1700000000, 0)
	for rel := range all {
		for ; rel != "."; rel = filepath.Dir(rel) { // the file and its folders
			if err := os.Chtimes(filepath.Join(ctx, rel), epoch, epoch); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Chtimes(filepath.Join(ctx, "busybox"), epoch, epoch); err != nil {
		return nil, err
	}
	return w, nil
}

// Edit gives the edit file new content (and so a new COPY layer).
func (w *workload) Edit() error {
	w.edits++
	return os.WriteFile(w.edit, []byte(fmt.Sprintf("edit %d\n", w.edits)), 0o644)
}

// Touch changes the touch file's modification time only.
func (w *workload) Touch() error {
	now := time.Now()
	return os.Chtimes(w.touch, now, now)
}
