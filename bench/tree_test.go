package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// treeDigest hashes every file's path and content under dir, in order.
func treeDigest(t *testing.T, dir string) (string, int, int64) {
	t.Helper()
	h := sha256.New()
	files, total := 0, int64(0)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.Write([]byte(rel + "\x00"))
		h.Write(b)
		files++
		total += int64(len(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), files, total
}

func TestTreeIsDeterministic(t *testing.T) {
	tree := Tree{Files: 101, Bytes: 300 << 10, PerDir: 20, Seed: 7}
	a, b := t.TempDir(), t.TempDir()
	if err := tree.Generate(a); err != nil {
		t.Fatal(err)
	}
	if err := tree.Generate(b); err != nil {
		t.Fatal(err)
	}
	da, files, total := treeDigest(t, a)
	db, _, _ := treeDigest(t, b)
	if da != db {
		t.Errorf("two generations of the same tree differ: %s vs %s", da, db)
	}
	if files != tree.Files || total != tree.Bytes {
		t.Errorf("generated %d files, %d bytes; want %d, %d", files, total, tree.Files, tree.Bytes)
	}
	if dirs, _ := os.ReadDir(a); len(dirs) != 6 {
		t.Errorf("%d folders, want 6 (101 files, 20 a folder)", len(dirs))
	}
	other := tree
	other.Seed = 8
	c := t.TempDir()
	if err := other.Generate(c); err != nil {
		t.Fatal(err)
	}
	if dc, _, _ := treeDigest(t, c); dc == da {
		t.Error("another seed gave the same tree")
	}
}

func TestTreeSizesVary(t *testing.T) {
	sizes := BigTree.sizes()
	var sum int64
	lo, hi := sizes[0], sizes[0]
	for _, s := range sizes {
		sum += s
		lo, hi = min(lo, s), max(hi, s)
	}
	if len(sizes) != 20000 || sum != 200<<20 {
		t.Errorf("BigTree: %d files, %d bytes; want 20000 files, %d bytes", len(sizes), sum, 200<<20)
	}
	if lo <= 0 || hi-lo < 5000 {
		t.Errorf("sizes from %d to %d: want positive and varied", lo, hi)
	}
}

func TestEnsureTreeReusesOnlyAWholeTree(t *testing.T) {
	dir := t.TempDir()
	tree := Tree{Files: 10, Bytes: 10 << 10, PerDir: 5, Seed: 1}
	ctx, err := EnsureTree(dir, tree)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := treeDigest(t, ctx)
	// A marker file shows whether the next call regenerated the tree.
	marker := filepath.Join(ctx, "data", "marker")
	os.WriteFile(marker, nil, 0o644)
	if _, err := EnsureTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("a tree with the same stamp was generated again")
	}
	tree.Seed = 2
	if _, err := EnsureTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a tree with another stamp was reused")
	}
	if again, _, _ := treeDigest(t, ctx); again == first {
		t.Error("the tree did not change with its seed")
	}
	// A half-written tree (no stamp) is not reused.
	os.Remove(filepath.Join(dir, "stamp"))
	os.WriteFile(marker, nil, 0o644)
	if _, err := EnsureTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("a tree without its stamp was reused")
	}
}

func TestBadTree(t *testing.T) {
	for _, tree := range []Tree{{Files: 0, Bytes: 1, PerDir: 1}, {Files: 2, Bytes: 1, PerDir: 1}, {Files: 1, Bytes: 1, PerDir: 0}} {
		if err := tree.Generate(t.TempDir()); err == nil {
			t.Errorf("Generate(%+v) succeeded, want an error", tree)
		}
	}
}
