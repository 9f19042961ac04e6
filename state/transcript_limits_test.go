package state

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// hugeHeader is a stream that declares one file of size bytes and then
// ends: what the engine sends first for a sparse file, which must be
// refused on its header, before any of its body is read.
func hugeHeader(t *testing.T, size int64) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: ".claude/", Typeflag: tar.TypeDir, Mode: 0o755})
	if err := tw.WriteHeader(&tar.Header{Name: ".claude/sparse", Typeflag: tar.TypeReg, Size: size, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes() // no body: reading it would fail the test
}

// manyEntries is a stream of n empty files in top/.
func manyEntries(t *testing.T, n int) []byte {
	es := []entry{{name: ".claude/", typ: tar.TypeDir}}
	for i := range n {
		es = append(es, entry{name: fmt.Sprintf(".claude/f%d", i), typ: tar.TypeReg})
	}
	return makeTar(t, es...)
}

// deepPath is a stream with a file depth folders deep.
func deepPath(t *testing.T, depth int) []byte {
	name := ".claude/" + strings.Repeat("d/", depth-1) + "f"
	return makeTar(t, entry{name: ".claude/", typ: tar.TypeDir}, entry{name: name, typ: tar.TypeReg, body: "x"})
}

func withTop(es ...entry) []entry {
	return append([]entry{{name: ".claude/", typ: tar.TypeDir}}, es...)
}

// TestTranscriptLimits feeds streams over each limit, and hostile names
// and links: each is refused with ErrTranscriptRefused and a line that
// says which limit, the old snapshot stays whole and nothing is left.
func TestTranscriptLimits(t *testing.T) {
	lim := TranscriptLimits{Bytes: 1000, Entries: 50, Depth: 5}
	cases := []struct {
		name   string
		stream func(t *testing.T) []byte
		want   string // in the error; "" means accepted
	}{
		{"sparse 1 TB file", func(t *testing.T) []byte { return hugeHeader(t, 1<<40) }, "1.0 TiB, which takes the snapshot over its 1000 B limit"},
		{"bytes just over", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/a", typ: tar.TypeReg, body: strings.Repeat("a", 600)}, entry{name: ".claude/b", typ: tar.TypeReg, body: strings.Repeat("b", 401)})...)
		}, "max_bytes"},
		{"bytes at the limit", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/a", typ: tar.TypeReg, body: strings.Repeat("a", 1000)})...)
		}, ""},
		{"too many entries", func(t *testing.T) []byte { return manyEntries(t, 51) }, "more than 50 entries"},
		{"entries at the limit", func(t *testing.T) []byte { return manyEntries(t, 50) }, ""},
		{"too deep", func(t *testing.T) []byte { return deepPath(t, 6) }, "6 folders deep, over the limit of 5"},
		{"deep at the limit", func(t *testing.T) []byte { return deepPath(t, 5) }, ""},
		{"absolute link out", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/l", typ: tar.TypeSymlink, link: "/etc/shadow"})...)
		}, `link l points outside the folder, to "/etc/shadow"`},
		{"relative link out", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/a/", typ: tar.TypeDir}, entry{name: ".claude/a/l", typ: tar.TypeSymlink, link: "../../.ssh"})...)
		}, "points outside the folder"},
		{"absolute link inside", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/l", typ: tar.TypeSymlink, link: "/home/node/.claude/debug/x.txt"})...)
		}, ""},
		{"relative link inside", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/a/", typ: tar.TypeDir}, entry{name: ".claude/a/l", typ: tar.TypeSymlink, link: "../b"})...)
		}, ""},
		{"the folder is a link", func(t *testing.T) []byte {
			return makeTar(t, entry{name: ".claude", typ: tar.TypeSymlink, link: "/"})
		}, "is not a folder"},
		{"parent reference", func(t *testing.T) []byte {
			return makeTar(t, withTop(entry{name: ".claude/../x", typ: tar.TypeReg, body: "x"})...)
		}, "climbs out of the folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustBottle(t, newStore(t), "a")
			if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true); err != nil {
				t.Fatal(err)
			}
			before := tree(t, b.TranscriptDir())
			w, err := b.BeginSnapshot(context.Background(), lim)
			if err != nil {
				t.Fatal(err)
			}
			err = w.AddTree(context.Background(), bytes.NewReader(tc.stream(t)), true, "/home/node/.claude")
			if err == nil {
				_, err = w.Commit("second")
			}
			w.Abort()
			noTemps(t, b.Dir())
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTranscriptRefused) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error = %v, want one line with ErrTranscriptRefused and %q", err, tc.want)
			}
			if after := tree(t, b.TranscriptDir()); after != before {
				t.Fatalf("a refused snapshot changed the old one:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// cancelAfter is a reader that cancels its context after n bytes, as a
// Ctrl-C in the middle of a copy does.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p[:min(len(p), 512)])
	c.n -= n
	return n, err
}

// TestTranscriptCancelKeepsOld: a context canceled halfway stops the copy
// at the next entry, keeps the old snapshot and leaves nothing behind;
// the lock is free again afterwards.
func TestTranscriptCancelKeepsOld(t *testing.T) {
	b := mustBottle(t, newStore(t), "a")
	if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true); err != nil {
		t.Fatal(err)
	}
	before := tree(t, b.TranscriptDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := b.BeginSnapshot(ctx, TranscriptLimits{})
	if err != nil {
		t.Fatal(err)
	}
	err = w.AddTree(ctx, &cancelAfter{r: bytes.NewReader(manyEntries(t, 1000)), n: 20 << 10, cancel: cancel}, true, "")
	w.Abort()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("AddTree after cancel = %v", err)
	}
	if after := tree(t, b.TranscriptDir()); after != before {
		t.Fatalf("a canceled snapshot changed the old one")
	}
	noTemps(t, b.Dir())
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	unlock, err := b.LockState(ctx2, nil)
	if err != nil {
		t.Fatalf("the state lock is still held after Abort: %v", err)
	}
	unlock()
}

// TestTranscriptLockSerialises: a snapshot in progress holds the state
// lock, so another command waits for it, and a restore waits too.
func TestTranscriptLockSerialises(t *testing.T) {
	b := mustBottle(t, newStore(t), "a")
	if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true); err != nil {
		t.Fatal(err)
	}
	lim := TranscriptLimits{Entries: 5000}
	w, err := b.BeginSnapshot(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := b.LockState(ctx, nil); err == nil {
		t.Fatal("the state lock was free during a snapshot")
	}
	if err := b.WriteRestore(ctx, io.Discard, RestoreOptions{Prefix: "p"}); err == nil {
		t.Fatal("a restore ran during a snapshot")
	}
	w.Abort()
	if err := b.WriteRestore(context.Background(), io.Discard, RestoreOptions{Prefix: "p"}); err != nil {
		t.Fatalf("restore after the snapshot ended: %v", err)
	}
}

// TestRestoreSessionOnly: without Settings a restore carries the sessions,
// the history and ~/.claude.json (byte for byte), not settings.json,
// hooks, commands or agents; with Settings it carries all.
func TestRestoreSessionOnly(t *testing.T) {
	b := mustBottle(t, newStore(t), "a")
	claudeJSON := "{\"oauthAccount\":{\"x\":1},\n\"projects\":{}}\x00\xff"
	lim := TranscriptLimits{Entries: 5000}
	w, err := b.BeginSnapshot(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	tree := makeTar(t, withTop(
		entry{name: ".claude/settings.json", typ: tar.TypeReg, body: `{"hooks":{}}`},
		entry{name: ".claude/history.jsonl", typ: tar.TypeReg, body: "h\n"},
		entry{name: ".claude/projects/", typ: tar.TypeDir},
		entry{name: ".claude/projects/-w/s.jsonl", typ: tar.TypeReg, body: "s\n"},
		entry{name: ".claude/commands/", typ: tar.TypeDir},
		entry{name: ".claude/commands/x.md", typ: tar.TypeReg, body: "run"},
		entry{name: ".claude/agents/a.md", typ: tar.TypeReg, body: "agent"},
		entry{name: ".claude/hooks/h.sh", typ: tar.TypeReg, body: "#!/bin/sh"},
		entry{name: ".claude/" + ClaudeJSONName, typ: tar.TypeReg, body: "forged"},
	)...)
	if err := w.AddTree(context.Background(), bytes.NewReader(tree), true, "/home/node/.claude"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddClaudeJSON(context.Background(), bytes.NewReader(makeTar(t, entry{name: ".claude.json", typ: tar.TypeReg, body: claudeJSON}))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit("src"); err != nil {
		t.Fatal(err)
	}
	for _, settings := range []bool{false, true} {
		var out bytes.Buffer
		o := RestoreOptions{Prefix: "home/node/.claude", ClaudeJSON: "home/node/.claude.json", Settings: settings}
		if err := b.WriteRestore(context.Background(), &out, o); err != nil {
			t.Fatal(err)
		}
		got := readTar(t, out.Bytes())
		if got["home/node/.claude.json"] != claudeJSON {
			t.Errorf("settings=%v: ~/.claude.json came back as %q", settings, got["home/node/.claude.json"])
		}
		if got["home/node/.claude/projects/-w/s.jsonl"] != "s\n" || got["home/node/.claude/history.jsonl"] != "h\n" {
			t.Errorf("settings=%v: sessions or history missing: %v", settings, got)
		}
		for _, name := range []string{"settings.json", "commands/x.md", "agents/a.md", "hooks/h.sh"} {
			if _, ok := got["home/node/.claude/"+name]; ok != settings {
				t.Errorf("settings=%v: %s restored=%v", settings, name, ok)
			}
		}
		for name := range got {
			if strings.Contains(name, reservedPrefix) || strings.Contains(name, snapshotMeta) {
				t.Errorf("the snapshot's own file %s was restored", name)
			}
		}
	}
}

// TestTranscriptMillionFiles streams a folder of 10⁶ empty files with an
// entry limit of 5000: the snapshot is refused when the limit is crossed,
// without reading the rest. (At the default limit the same test spends
// its time creating 200000 files on the host's disk: 37 s to minutes.)
func TestTranscriptMillionFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 5000 files")
	}
	b := mustBottle(t, newStore(t), "a")
	if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true); err != nil {
		t.Fatal(err)
	}
	before := tree(t, b.TranscriptDir())
	pr, pw := io.Pipe()
	sent := make(chan int, 1)
	go func() {
		tw := tar.NewWriter(pw)
		n := 0
		defer func() { sent <- n }()
		if tw.WriteHeader(&tar.Header{Name: ".claude/", Typeflag: tar.TypeDir, Mode: 0o755}) != nil {
			return
		}
		for ; n < 1_000_000; n++ {
			hdr := &tar.Header{Name: fmt.Sprintf(".claude/d%d/f%d", n/1000, n), Typeflag: tar.TypeReg, Mode: 0o644}
			if err := tw.WriteHeader(hdr); err != nil {
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	start := time.Now()
	lim := TranscriptLimits{Entries: 5000}
	w, err := b.BeginSnapshot(context.Background(), lim)
	if err != nil {
		t.Fatal(err)
	}
	err = w.AddTree(context.Background(), pr, true, "/home/node/.claude")
	w.Abort()
	pr.CloseWithError(errors.New("reader gone"))
	took, n := time.Since(start), <-sent
	t.Logf("refused after %v; %d of 10⁶ entries sent: %v", took.Round(time.Millisecond), n, err)
	if !errors.Is(err, ErrTranscriptRefused) || !strings.Contains(err.Error(), "more than 5000 entries") {
		t.Fatalf("error = %v, want the entry limit", err)
	}
	if n > lim.Entries+1000 || took > time.Minute {
		t.Errorf("read %d entries in %v: the copy did not stop at the limit", n, took)
	}
	if after := tree(t, b.TranscriptDir()); after != before {
		t.Fatal("the refused snapshot changed the old one")
	}
	noTemps(t, b.Dir())
}
