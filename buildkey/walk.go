package buildkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/moby/patternmatcher/ignorefile"
	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
)

// Walker digests build contexts, walking each (folder, ignore patterns)
// once however many builds share it: a batch of bottles over one repo
// walks the repo once. It is safe for concurrent use.
type Walker struct {
	mu    sync.Mutex
	walks map[string]*walk
}

type walk struct {
	start  time.Time // when the walk was asked for: racy is relative to it
	once   sync.Once
	digest string
	newest time.Time
	err    error
}

// RacyWindow is how recent a file's mtime may be for a key over it to be
// recorded. A file rewritten within one tick of the filesystem's clock,
// at the same size, keeps its mtime; once every mtime is older than this
// window when the context is walked, any later write gets a different
// one (as git treats a "racily clean" index entry). The same holds for a
// walk that runs beside the build (Start): a file the build and the walk
// saw differently was written after the walk began.
const RacyWindow = 2 * time.Second

// get returns the walk of (dir, excludes), made and timed now if new.
func (w *Walker) get(dir string, excludes []string) *walk {
	id := dir + "\x00" + fmt.Sprintf("%q", excludes)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.walks == nil {
		w.walks = map[string]*walk{}
	}
	wk, ok := w.walks[id]
	if !ok {
		wk = &walk{start: time.Now()}
		w.walks[id] = wk
	}
	return wk
}

func (wk *walk) run(ctx context.Context, dir string, excludes []string) {
	wk.once.Do(func() { wk.digest, wk.newest, wk.err = digestContext(ctx, dir, excludes) })
}

// Start begins walking dir in the background, unless a walk of it began
// already, so that a build can run beside it; Context then waits for it.
// Call it before the build starts.
func (w *Walker) Start(ctx context.Context, dir string, excludes []string) {
	wk := w.get(dir, excludes)
	go wk.run(ctx, dir, excludes)
}

// Context returns the digest of the metadata of every file in dir that
// the build sees, with excludes (.dockerignore patterns) applied as the
// build applies them, and whether the walk was racy: a file's mtime was
// within RacyWindow of the walk's start, or in the future, so a key over
// it must not be recorded. It walks, or waits for the walk Start began.
func (w *Walker) Context(ctx context.Context, dir string, excludes []string) (digest string, racy bool, err error) {
	wk := w.get(dir, excludes)
	wk.run(ctx, dir, excludes)
	return wk.digest, wk.newest.After(wk.start.Add(-RacyWindow)), wk.err
}

// digestContext walks dir with fsutil, the walker BuildKit's context
// transfer uses, and hashes each entry's path and stat.
func digestContext(ctx context.Context, dir string, excludes []string) (string, time.Time, error) {
	h := sha256.New()
	var newest int64
	err := fsutil.Walk(ctx, dir, &fsutil.FilterOpt{ExcludePatterns: excludes}, func(path string, fi fs.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*types.Stat)
		if !ok {
			return fmt.Errorf("%s: no file metadata from the walker", path)
		}
		writeStat(h, path, st)
		newest = max(newest, st.ModTime)
		return nil
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading build context %q: %w", dir, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), time.Unix(0, newest), nil
}

// writeStat hashes one entry, every field length-prefixed so that no two
// entries run together.
func writeStat(h hash.Hash, path string, st *types.Stat) {
	str := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str(path)
	num(int64(st.Mode))
	num(st.Size)
	num(st.ModTime)
	num(int64(st.Uid))
	num(int64(st.Gid))
	num(st.Devmajor)
	num(st.Devminor)
	str(st.Linkname)
	keys := make([]string, 0, len(st.Xattrs))
	for k := range st.Xattrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	num(int64(len(keys)))
	for _, k := range keys {
		str(k)
		str(string(st.Xattrs[k]))
	}
}

// Ignore returns the ignore patterns a build of dockerfile in contextDir
// applies, and the bytes they came from: <Dockerfile>.dockerignore beside
// the Dockerfile when there is one (BuildKit's frontend prefers it), else
// the context's .dockerignore, else none.
func Ignore(contextDir, dockerfile string) (patterns []string, source []byte, err error) {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(contextDir, ".dockerignore")} {
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", p, err)
		}
		pats, err := ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		return pats, append([]byte(p+"\x00"), data...), nil
	}
	return nil, nil, nil
}
