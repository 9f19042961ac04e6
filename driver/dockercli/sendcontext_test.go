package dockercli

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// sentFiles reads a sent context: each entry's name (without a trailing
// slash) and content, and the header of the Dockerfile entry.
func sentFiles(t *testing.T, r io.ReadCloser) (map[string]string, *tar.Header) {
	t.Helper()
	defer r.Close()
	out := map[string]string{}
	var df *tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, df
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(h.Name, "/")] = string(data)
		if h.Name == contextDockerfile {
			df = h
		}
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// overrideRequest is a context folder with files and a Dockerfile outside
// it, as a bottle's override is.
func overrideRequest(t *testing.T, files map[string]string) driver.Request {
	t.Helper()
	root := t.TempDir()
	writeTree(t, filepath.Join(root, "repo"), files)
	writeTree(t, filepath.Join(root, "state"), map[string]string{"Dockerfile": "FROM scratch\nCOPY . /ctx/\n"})
	return driver.Request{Dockerfile: filepath.Join(root, "state", "Dockerfile"), ContextDir: filepath.Join(root, "repo")}
}

func TestSentContext(t *testing.T) {
	dfLine := contextDockerfile + "\n"
	tests := []struct {
		name   string
		files  map[string]string
		want   []string // every entry sent, the Dockerfile and .dockerignore included
		ignore string   // the .dockerignore sent
	}{
		{
			name:   "no .dockerignore: one that drops itself and the Dockerfile",
			files:  map[string]string{"a.txt": "a", "src/b.go": "b"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "a.txt", "src", "src/b.go"},
			ignore: ".dockerignore\n" + dfLine,
		},
		{
			name: "patterns exclude files, folders and globs, with an exception",
			files: map[string]string{".dockerignore": "secret.txt\nlogs/\n*.tmp\n!keep.tmp",
				"secret.txt": "s", "logs/x.log": "l", "a.tmp": "t", "keep.tmp": "k", "src/b.go": "b"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "keep.tmp", "src", "src/b.go"},
			ignore: "secret.txt\nlogs/\n*.tmp\n!keep.tmp\n" + dfLine,
		},
		{
			name:   "a .dockerignore that excludes itself is still sent",
			files:  map[string]string{".dockerignore": ".dockerignore\n*.log\n", "x.log": "l", "a.txt": "a"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "a.txt"},
			ignore: ".dockerignore\n*.log\n" + dfLine,
		},
		{
			name:   "everything but one folder",
			files:  map[string]string{".dockerignore": "*\n!src\n", "a.txt": "a", "src/b.go": "b", "docs/c.md": "c"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "src", "src/b.go"},
			ignore: "*\n!src\n" + dfLine,
		},
		{
			name: "an exception inside an excluded folder sends the file, not the folder",
			files: map[string]string{".dockerignore": ".dockerignore\nlogs\n!logs/keep.log\n",
				"logs/x.log": "x", "logs/keep.log": "k", "a.txt": "a"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "a.txt", "logs/keep.log"},
			ignore: ".dockerignore\nlogs\n!logs/keep.log\n" + dfLine,
		},
		{
			name:   "a file of the Dockerfile's name that .dockerignore excludes",
			files:  map[string]string{".dockerignore": ".claude-bottle.Dockerfile\n", ".claude-bottle.Dockerfile": "mine", "a.txt": "a"},
			want:   []string{".claude-bottle.Dockerfile", ".dockerignore", "a.txt"},
			ignore: ".claude-bottle.Dockerfile\n" + dfLine,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := overrideRequest(t, tc.files)
			rc, err := sentContext(req)
			if err != nil {
				t.Fatal(err)
			}
			got, df := sentFiles(t, rc)
			names := make([]string, 0, len(got))
			for n := range got {
				names = append(names, n)
			}
			sort.Strings(names)
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Errorf("sent %q\nwant %q", names, tc.want)
			}
			if got[".dockerignore"] != tc.ignore {
				t.Errorf(".dockerignore sent = %q, want %q", got[".dockerignore"], tc.ignore)
			}
			if got[contextDockerfile] != "FROM scratch\nCOPY . /ctx/\n" || df == nil || !df.ModTime.Equal(addedFileTime) {
				t.Errorf("Dockerfile sent = %q with header %+v", got[contextDockerfile], df)
			}
		})
	}
}

// TestSentContextIsStable checks that two builds of unchanged files send
// the same bytes, even after the Dockerfile is rewritten with new times:
// what keeps the legacy builder's COPY . cached.
func TestSentContextIsStable(t *testing.T) {
	req := overrideRequest(t, map[string]string{".dockerignore": "x.log\n", "a.txt": "a", "src/b.go": "b", "x.log": "l"})
	read := func() []byte {
		rc, err := sentContext(req)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := read()
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(req.Dockerfile, later, later); err != nil {
		t.Fatal(err)
	}
	if again := read(); !bytes.Equal(first, again) {
		t.Errorf("two sends of the same files differ (%d and %d bytes)", len(first), len(again))
	}
}

// TestSentContextHeaders checks what the legacy builder's cache key reads
// from each entry: root ownership, the file's mode, hard links as links.
func TestSentContextHeaders(t *testing.T) {
	req := overrideRequest(t, map[string]string{"a.txt": "a", "bin/run": "#!/bin/sh\n"})
	if err := os.Chmod(filepath.Join(req.ContextDir, "bin/run"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(req.ContextDir, "a.txt"), filepath.Join(req.ContextDir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.txt", filepath.Join(req.ContextDir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	rc, err := sentContext(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = fmt.Sprintf("%c %o %d:%d %s", h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname)
	}
	want := map[string]string{
		"a.txt": "0 644 0:0 ", "b.txt": "1 644 0:0 a.txt", "c.txt": "2 777 0:0 a.txt",
		"bin/": "5 755 0:0 ", "bin/run": "0 750 0:0 ",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: header %q, want %q", name, got[name], w)
		}
	}
}

func TestSentContextRefusesNameClash(t *testing.T) {
	req := overrideRequest(t, map[string]string{contextDockerfile: "mine", "a.txt": "a"})
	_, err := sentContext(req)
	if !errors.Is(err, driver.ErrInvalidRequest) || !strings.Contains(err.Error(), contextDockerfile) || !strings.Contains(err.Error(), ".dockerignore") {
		t.Fatalf("err = %v, want ErrInvalidRequest naming the file and the way out", err)
	}
}

func TestOutsideContext(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"repo/Dockerfile": "x", "repo/docker/app.Dockerfile": "x", "state/Dockerfile": "x", "repo2/Dockerfile": "x"})
	if err := os.Symlink(filepath.Join(root, "repo"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dockerfile, context string
		want                bool
	}{
		{"repo/Dockerfile", "repo", false},
		{"repo/docker/app.Dockerfile", "repo", false},
		{"state/Dockerfile", "repo", true},
		{"repo2/Dockerfile", "repo", true}, // a sibling whose name starts alike
		{"repo/Dockerfile", "link", false}, // the context through a symlink
	}
	for _, tc := range tests {
		req := driver.Request{Dockerfile: filepath.Join(root, tc.dockerfile), ContextDir: filepath.Join(root, tc.context)}
		if got, err := outsideContext(req); err != nil || got != tc.want {
			t.Errorf("%s in %s: outside = %v, %v; want %v", tc.dockerfile, tc.context, got, err, tc.want)
		}
	}
}

// failingReader yields some bytes, then an error, as a context whose file
// vanishes part-way would.
type failingReader struct{ sent bool }

func (f *failingReader) Read(p []byte) (int, error) {
	if !f.sent {
		f.sent = true
		return copy(p, "partial context"), nil
	}
	return 0, errors.New("file vanished")
}

// TestRunKillsDockerOnContextError checks that a context stream that
// fails part-way kills docker before its stdin ends, so it never sees a
// short stream that looks whole.
func TestRunKillsDockerOnContextError(t *testing.T) {
	bin := fakeDocker(t, "cat >/dev/null\necho read-to-the-end\n")
	var lines []string
	pr := newProgress(lineFunc(func(s string) { lines = append(lines, s) }), newTail(5), driver.Discard)
	err := run(context.Background(), bin, nil, os.Environ(), io.NopCloser(&failingReader{}), pr, time.Second)
	var sendErr *contextSendError
	if !errors.As(err, &sendErr) || !strings.Contains(err.Error(), "file vanished") {
		t.Fatalf("err = %v, want a contextSendError", err)
	}
	if len(lines) != 0 {
		t.Errorf("docker read its stdin to the end: %q", lines)
	}
}

func TestRunFeedsStdin(t *testing.T) {
	bin := fakeDocker(t, "wc -c\n")
	var lines []string
	pr := newProgress(lineFunc(func(s string) { lines = append(lines, strings.TrimSpace(s)) }), newTail(5), driver.Discard)
	if err := run(context.Background(), bin, nil, os.Environ(), io.NopCloser(strings.NewReader("twelve bytes")), pr, time.Second); err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, "|") != "12" {
		t.Errorf("docker read %q, want 12 bytes", lines)
	}
}
