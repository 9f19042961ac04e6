package buildkey

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A Walker walks each folder once: a batch sees one state of the repo.
// Ignored files are not in the digest; a file newer than RacyWindow
// makes the walk racy.
func TestWalkerOneWalkIgnoresAndRacy(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string, age time.Duration) {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "1", time.Hour)
	write("x.log", "1", time.Hour)
	ctx := context.Background()
	pats := []string{"*.log"}
	var w Walker
	d1, racy, err := w.Context(ctx, dir, pats)
	if err != nil || racy {
		t.Fatalf("Context = %s, %v, %v", d1, racy, err)
	}
	write("a", "22", time.Hour)
	if d2, _, _ := w.Context(ctx, dir, pats); d2 != d1 {
		t.Fatal("the same Walker walked the folder twice")
	}
	d3, _, _ := (&Walker{}).Context(ctx, dir, pats)
	if d3 == d1 {
		t.Fatal("a changed file did not change the digest")
	}
	write("x.log", "changed", time.Minute)
	if d4, racy, _ := (&Walker{}).Context(ctx, dir, pats); d4 != d3 || racy {
		t.Fatalf("an ignored file changed the digest (racy %v)", racy)
	}
	write("b", "new", 0)
	if _, racy, _ := (&Walker{}).Context(ctx, dir, pats); !racy {
		t.Fatal("a file written just now did not make the walk racy")
	}
}

func TestIgnorePrefersTheDockerfilesOwn(t *testing.T) {
	ctxDir, dfDir := t.TempDir(), t.TempDir()
	df := filepath.Join(dfDir, "Dockerfile")
	if pats, src, err := Ignore(ctxDir, df); err != nil || pats != nil || src != nil {
		t.Fatalf("no ignore file: %q %q %v", pats, src, err)
	}
	os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte("*.log\n"), 0o644)
	if pats, _, _ := Ignore(ctxDir, df); len(pats) != 1 || pats[0] != "*.log" {
		t.Fatalf("context's: %q", pats)
	}
	os.WriteFile(df+".dockerignore", []byte("# own\n/tmp\n"), 0o644)
	if pats, _, _ := Ignore(ctxDir, df); len(pats) != 1 || pats[0] != "tmp" {
		t.Fatalf("Dockerfile's own: %q", pats)
	}
}
