package bench

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Tree describes a deterministic tree of pseudo-random files, the data of
// the big-context workload: the same Tree always gives the same names,
// sizes and bytes, so runs on different days build the same context.
type Tree struct {
	// Files is how many files; Bytes their total size.
	Files int
	Bytes int64
	// PerDir is how many files share a folder.
	PerDir int
	// Seed picks the sizes and contents.
	Seed uint64
}

// BigTree is the big context: 20,000 files, 200 MB in all.
var BigTree = Tree{Files: 20000, Bytes: 200 << 20, PerDir: 200, Seed: 7}

// Stamp identifies t; it is kept beside a generated tree so that a later
// run reuses the tree only if it was made from the same description.
func (t Tree) Stamp() string {
	return fmt.Sprintf("tree/v1 files=%d bytes=%d perdir=%d seed=%d", t.Files, t.Bytes, t.PerDir, t.Seed)
}

// sizes returns each file's size: pairs of files straddle the mean by the
// same random amount, and the last file takes the remainder, so the sizes
// vary yet add up to exactly Bytes.
func (t Tree) sizes() []int64 {
	rng := rand.New(rand.NewPCG(t.Seed, 1))
	out := make([]int64, t.Files)
	mean := t.Bytes / int64(t.Files)
	var sum int64
	for i := 0; i+1 < t.Files; i += 2 {
		d := rng.Int64N(mean+1) - mean/2
		out[i], out[i+1] = mean+d, mean-d
		sum += 2 * mean
	}
	out[t.Files-1] += t.Bytes - sum
	return out
}

// path is the relative path of file i.
func (t Tree) path(i int) string {
	return filepath.Join(fmt.Sprintf("d%03d", i/t.PerDir), fmt.Sprintf("f%05d.bin", i))
}

// Generate writes the tree under dir, creating it.
func (t Tree) Generate(dir string) error {
	if t.Files < 1 || t.PerDir < 1 || t.Bytes < int64(t.Files) {
		return fmt.Errorf("tree %q: want at least one file, one file a folder and one byte a file", t.Stamp())
	}
	src := rand.NewChaCha8(seed32(t.Seed))
	w := bufio.NewWriterSize(nil, 1<<16)
	for i, size := range t.sizes() {
		p := filepath.Join(dir, t.path(i))
		if i%t.PerDir == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
		}
		if err := writeRandom(p, size, src, w); err != nil {
			return err
		}
	}
	return nil
}

func writeRandom(path string, size int64, src io.Reader, w *bufio.Writer) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w.Reset(f)
	if _, err := io.CopyN(w, src, size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func seed32(s uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(s >> (8 * i))
	}
	return b
}

// EnsureTree returns a context folder, dir/ctx, whose data folder holds t,
// generating it only when dir has no tree of the same Stamp; a half-written
// tree is never reused, because the stamp (kept out of the context) is
// written last.
func EnsureTree(dir string, t Tree) (string, error) {
	ctx := filepath.Join(dir, "ctx")
	data := filepath.Join(ctx, "data")
	stamp := filepath.Join(dir, "stamp")
	if b, err := os.ReadFile(stamp); err == nil && string(b) == t.Stamp() {
		return ctx, nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clearing the stale bench tree %s: %w", dir, err)
	}
	if err := t.Generate(data); err != nil {
		return "", fmt.Errorf("generating the bench tree in %s: %w", dir, err)
	}
	if err := os.WriteFile(stamp, []byte(t.Stamp()), 0o644); err != nil {
		return "", err
	}
	return ctx, nil
}
