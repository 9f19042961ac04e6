package state

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// entry is one member of a test tar stream.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

func makeTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644}
		switch e.typ {
		case tar.TypeReg:
			hdr.Size = int64(len(e.body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readTar returns a tar stream's entries as name -> body (or "-> link", or
// "dir").
func readTar(t testing.TB, data []byte) map[string]string {
	t.Helper()
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			got[hdr.Name] = "dir"
		case tar.TypeSymlink:
			got[hdr.Name] = "-> " + hdr.Linkname
		default:
			body, _ := io.ReadAll(tr)
			got[hdr.Name] = string(body)
		}
	}
}

// sampleTranscript is what `docker cp bottle:/home/node/.claude -` sends.
func sampleTranscript(t testing.TB, version string) []byte {
	return makeTar(t,
		entry{name: ".claude/", typ: tar.TypeDir},
		entry{name: ".claude/settings.json", typ: tar.TypeReg, body: `{"v":"` + version + `"}`},
		entry{name: ".claude/projects/", typ: tar.TypeDir},
		entry{name: ".claude/projects/log.jsonl", typ: tar.TypeReg, body: strings.Repeat("line "+version+"\n", 100)},
		entry{name: ".claude/current", typ: tar.TypeSymlink, link: "projects/log.jsonl"},
	)
}

func TestTranscriptRoundTrip(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "a")
	info, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "1")), "bottle:/home/node/.claude", true)
	if err != nil {
		t.Fatal(err)
	}
	if info.Files != 2 || info.Bytes != int64(len(`{"v":"1"}`)+100*len("line 1\n")) || info.Source != "bottle:/home/node/.claude" || info.Taken.IsZero() {
		t.Errorf("SaveTranscript info = %+v", info)
	}
	got, ok, err := b.Snapshot()
	if !ok || err != nil || got.Files != info.Files || got.Bytes != info.Bytes || !got.Taken.Equal(info.Taken) {
		t.Errorf("Snapshot() = %+v, %v, %v; want %+v", got, ok, err, info)
	}
	var out bytes.Buffer
	if err := b.TranscriptTar(&out, ".claude"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		".claude/":                   "dir",
		".claude/settings.json":      `{"v":"1"}`,
		".claude/projects/":          "dir",
		".claude/projects/log.jsonl": strings.Repeat("line 1\n", 100),
		".claude/current":            "-> projects/log.jsonl",
	}
	if entries := readTar(t, out.Bytes()); !reflect.DeepEqual(entries, want) {
		t.Fatalf("TranscriptTar entries:\n%v\nwant\n%v", entries, want)
	}
	// The stream TranscriptTar writes is one SaveTranscript takes back.
	c := mustBottle(t, s, "b")
	if _, err := c.SaveTranscript(bytes.NewReader(out.Bytes()), "copy", true); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := c.TranscriptTar(&again, ".claude"); err != nil {
		t.Fatal(err)
	}
	if entries := readTar(t, again.Bytes()); !reflect.DeepEqual(entries, want) {
		t.Fatalf("round trip changed the snapshot:\n%v", entries)
	}
	// Saving again replaces the snapshot whole.
	if _, err := b.SaveTranscript(bytes.NewReader(makeTar(t, entry{name: "x/only", typ: tar.TypeReg, body: "2"})), "", true); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	b.TranscriptTar(&out, "p")
	if entries := readTar(t, out.Bytes()); !reflect.DeepEqual(entries, map[string]string{"p/": "dir", "p/only": "2"}) {
		t.Fatalf("second save left %v", entries)
	}
	noTemps(t, b.Dir())
}

func TestTranscriptTarWithoutSnapshot(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "a")
	err := b.TranscriptTar(io.Discard, ".claude")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `"a" has no transcript snapshot`) {
		t.Fatalf("TranscriptTar without a snapshot = %v", err)
	}
	if got := tree(t, s.Root()); got != "<absent>" {
		t.Fatalf("reading a missing snapshot wrote:\n%s", got)
	}
}

// TestTranscriptCannotEscape feeds hostile streams: parent references,
// absolute names, and links written through. Whatever SaveTranscript does,
// nothing outside the bottle's folder changes, and when it refuses, the old
// snapshot stays whole.
func TestTranscriptCannotEscape(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	os.WriteFile(victim, []byte("untouched"), 0o644)
	cases := []struct {
		name    string
		entries []entry
		refused bool
	}{
		{"parent references", []entry{{name: "../../../../../../" + outside + "/pwned", typ: tar.TypeReg, body: "x"}}, true},
		{"absolute name", []entry{{name: outside + "/pwned", typ: tar.TypeReg, body: "x"}}, true},
		{"parent references under strip", []entry{{name: "top/../../../pwned", typ: tar.TypeReg, body: "x"}}, true},
		{"link to a folder then a write through it", []entry{
			{name: "l", typ: tar.TypeSymlink, link: outside},
			{name: "l/pwned", typ: tar.TypeReg, body: "x"},
		}, true},
		{"relative link out then a write through it", []entry{
			{name: "d", typ: tar.TypeSymlink, link: "../../../../../../../../../.." + outside},
			{name: "d/pwned", typ: tar.TypeReg, body: "x"},
		}, true},
		{"link to a file then the file", []entry{
			{name: "f", typ: tar.TypeSymlink, link: victim},
			{name: "f", typ: tar.TypeReg, body: "pwned"},
		}, true},
		{"link then a folder through it", []entry{
			{name: "l", typ: tar.TypeSymlink, link: outside},
			{name: "l/sub/", typ: tar.TypeDir},
		}, true},
		{"nested link then a deep write", []entry{
			{name: "a/", typ: tar.TypeDir},
			{name: "a/up", typ: tar.TypeSymlink, link: "../.."},
			{name: "a/up/up2", typ: tar.TypeSymlink, link: "../.."},
			{name: "a/up/up2/pwned", typ: tar.TypeReg, body: "x"},
		}, true},
		{"hard link to a file outside then the file", []entry{
			{name: "h", typ: tar.TypeLink, link: victim},
			{name: "h", typ: tar.TypeReg, body: "pwned"},
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			b := mustBottle(t, s, "a")
			if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "", true); err != nil {
				t.Fatal(err)
			}
			beforeOut, beforeSnap := tree(t, outside), tree(t, b.TranscriptDir())
			_, err := b.SaveTranscript(bytes.NewReader(makeTar(t, tc.entries...)), "", strings.HasPrefix(tc.entries[0].name, "top/"))
			if after := tree(t, outside); after != beforeOut {
				t.Fatalf("the stream wrote outside the bottle:\n%s", after)
			}
			if data, _ := os.ReadFile(victim); string(data) != "untouched" {
				t.Fatalf("victim now holds %q", data)
			}
			if tc.refused != (err != nil) {
				t.Fatalf("SaveTranscript error = %v, want refused=%v", err, tc.refused)
			}
			if err != nil {
				if after := tree(t, b.TranscriptDir()); after != beforeSnap {
					t.Fatalf("a refused stream changed the old snapshot:\n%s", after)
				}
			} else if tc.entries[0].typ == tar.TypeReg && !strings.HasPrefix(tc.entries[0].name, "top/") && !found(t, b.TranscriptDir(), "pwned") {
				t.Errorf("the cleaned entry is not inside the snapshot:\n%s", tree(t, b.TranscriptDir()))
			}
			noTemps(t, b.Dir())
		})
	}
}

// TestTranscriptFailureKeepsOld: a stream that breaks halfway, a truncated
// one and one that is not a tar at all leave the previous snapshot whole.
func TestTranscriptFailureKeepsOld(t *testing.T) {
	next := sampleTranscript(t, "new")
	cases := map[string]io.Reader{
		"reader errors halfway": io.MultiReader(bytes.NewReader(next[:len(next)/2]), errReader{errors.New("connection reset")}),
		"stream truncated":      bytes.NewReader(next[:len(next)/2]),
		"not a tar":             strings.NewReader(strings.Repeat("garbage ", 200)),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			b := mustBottle(t, s, "a")
			old, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true)
			if err != nil {
				t.Fatal(err)
			}
			before := tree(t, b.Dir())
			if _, err := b.SaveTranscript(r, "second", true); err == nil {
				t.Fatal("a broken stream was saved")
			} else if !strings.Contains(err.Error(), `bottle "a" transcript`) {
				t.Errorf("error %q does not name the bottle", err)
			}
			if after := tree(t, b.Dir()); after != before {
				t.Fatalf("a broken stream changed the bottle:\n%s\nwas\n%s", after, before)
			}
			if info, ok, err := b.Snapshot(); !ok || err != nil || info.Source != old.Source || !info.Taken.Equal(old.Taken) {
				t.Fatalf("Snapshot() after a broken stream = %+v, %v, %v", info, ok, err)
			}
		})
	}
}

// TestTranscriptInterruptedSwap recovers from a process that died between
// the two renames of a swap, and ignores one that died while unpacking.
func TestTranscriptInterruptedSwap(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "a")
	old, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "old")), "first", true)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	b.TranscriptTar(&want, "p")
	aside := filepath.Join(b.Dir(), ".transcript-old")

	// Died after moving the old snapshot aside, before the new one went in,
	// and left a half-unpacked new one behind.
	os.Rename(b.TranscriptDir(), aside)
	os.MkdirAll(filepath.Join(b.Dir(), ".transcript-new-123", "half"), 0o700)
	info, ok, err := b.Snapshot()
	if !ok || err != nil || !info.Taken.Equal(old.Taken) {
		t.Fatalf("Snapshot() after an interrupted swap = %+v, %v, %v; want the old one back", info, ok, err)
	}
	var got bytes.Buffer
	if err := b.TranscriptTar(&got, "p"); err != nil || !reflect.DeepEqual(readTar(t, got.Bytes()), readTar(t, want.Bytes())) {
		t.Fatalf("recovered snapshot differs (%v)", err)
	}
	if _, err := os.Lstat(aside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old snapshot is still aside: %v", err)
	}

	// Died after the new one went in, before the old one was removed.
	newer, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "newer")), "second", true)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(aside, "stale"), 0o700)
	if info, ok, err := b.Snapshot(); !ok || err != nil || !info.Taken.Equal(newer.Taken) {
		t.Fatalf("Snapshot() with a stale old copy = %+v, %v, %v; want the newer one", info, ok, err)
	}
	if _, err := b.SaveTranscript(bytes.NewReader(sampleTranscript(t, "third")), "third", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(aside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a stale old copy survived the next save: %v", err)
	}
}

// TestTranscriptMarkerEntriesIgnored: a stream cannot forge or block the
// marker file that says a snapshot is whole.
func TestTranscriptMarkerEntriesIgnored(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "a")
	stream := makeTar(t,
		entry{name: "top/" + snapshotMeta, typ: tar.TypeReg, body: `{"files": 999}`},
		entry{name: "top/" + snapshotMeta + "/x", typ: tar.TypeReg, body: "blocks the marker"},
		entry{name: "top/real", typ: tar.TypeReg, body: "1"},
	)
	info, err := b.SaveTranscript(bytes.NewReader(stream), "src", true)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.Snapshot(); !ok || err != nil || got.Files != 1 || info.Files != 1 {
		t.Fatalf("Snapshot() = %+v, %v, %v; want the one real file counted", got, ok, err)
	}
	var out bytes.Buffer
	b.TranscriptTar(&out, "p")
	if entries := readTar(t, out.Bytes()); !reflect.DeepEqual(entries, map[string]string{"p/": "dir", "p/real": "1"}) {
		t.Fatalf("TranscriptTar = %v", entries)
	}
}

// found reports whether a file named base is somewhere under dir.
func found(t *testing.T, dir, base string) bool {
	t.Helper()
	hit := false
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == base && d.Type().IsRegular() {
			hit = true
		}
		return err
	})
	return hit
}
