package state

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetOverrideWritesAtomicallyWithModes(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "my-agent")
	if err := b.SetOverride([]byte(validDockerfile)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{s.Root(), s.StateDir(), b.Dir()} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("folder %s: %v, %v; want mode 0700", d, fi.Mode(), err)
		}
	}
	fi, err := os.Lstat(b.DockerfilePath())
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Fatalf("override %v, %v; want a regular file, mode 0644", fi.Mode(), err)
	}
	data, ok, err := b.Override()
	if string(data) != validDockerfile || !ok || err != nil {
		t.Fatalf("Override() = %q, %v, %v", data, ok, err)
	}
	noTemps(t, b.Dir())
	noTemps(t, s.StateDir())

	second := validDockerfile + "LABEL v=2\n"
	if err := b.SetOverride([]byte(second)); err != nil {
		t.Fatal(err)
	}
	if data, _, _ := b.Override(); string(data) != second {
		t.Fatalf("second write left %q", data)
	}
	noTemps(t, b.Dir())

	if err := b.ResetOverride(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(b.DockerfilePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("reset left the override: %v", err)
	}
	if data, ok, err := b.Override(); data != nil || ok || err != nil {
		t.Fatalf("after reset Override() = %q, %v, %v; want absent and no error", data, ok, err)
	}
	if err := b.ResetOverride(); err != nil {
		t.Errorf("resetting twice: %v", err)
	}
}

func TestValidDockerfilesAccepted(t *testing.T) {
	for _, df := range []string{"FROM scratch", "FROM scratch\r\nRUN true\r\n", "\ufeffFROM scratch\n", readTestdata(t, "valid-heredoc")} {
		if err := ValidateDockerfile("x", []byte(df)); err != nil {
			t.Errorf("ValidateDockerfile(%q) = %v", df, err)
		}
	}
}

// invalidDockerfiles are refused before anything is written; each message
// names the file and, when BuildKit gives one, the line.
func invalidDockerfiles(t testing.TB) []struct{ name, data, want string } {
	return []struct{ name, data, want string }{
		{"empty", readTestdata(t, "empty"), "is empty; it needs at least a FROM line"},
		{"blank", readTestdata(t, "blank"), "is empty"},
		{"unknown instruction", readTestdata(t, "unknown-instruction"), " line 2: unknown instruction: FOO"},
		{"unterminated heredoc", readTestdata(t, "unterminated-heredoc"), " line 2: unterminated heredoc"},
		{"no FROM", readTestdata(t, "no-from"), "no FROM instruction"},
		{"RUN before FROM", readTestdata(t, "run-before-from"), " line 1: no build stage"},
		{"unknown flag", readTestdata(t, "unknown-flag"), " line 2: unknown flag: --nope"},
		{"FROM without image", readTestdata(t, "from-without-image"), " line 1: FROM requires"},
		{"comments only", readTestdata(t, "comments-only"), "no instructions"},
		{"binary", "FROM scratch\n\x00\x01\x02ELF", "is not text"},
		{"invalid UTF-8", "FROM scratch\nLABEL x=\xff\xfe\n", "is not text"},
		{"over 1 MiB", "FROM scratch\n" + strings.Repeat("# padding\n", MaxDockerfileSize/10), "1048576 bytes"},
	}
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "dockerfiles", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestInvalidDockerfileRefusedAndNothingWritten(t *testing.T) {
	for _, tc := range invalidDockerfiles(t) {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			b := mustBottle(t, s, "a")
			wantErr(t, b.SetOverride([]byte(tc.data)), ErrInvalidDockerfile, tc.want, `"a"`)
			wantErr(t, b.SetOverrideFrom(strings.NewReader(tc.data), "in.Dockerfile"), ErrInvalidDockerfile, "in.Dockerfile", tc.want)
			if got := tree(t, s.Root()); got != "<absent>" {
				t.Fatalf("a refused Dockerfile wrote:\n%s", got)
			}
			// Over an existing override: the old one stays, whole.
			if err := b.SetOverride([]byte(validDockerfile)); err != nil {
				t.Fatal(err)
			}
			before := tree(t, s.Root())
			wantErr(t, b.SetOverride([]byte(tc.data)), ErrInvalidDockerfile, tc.want)
			if after := tree(t, s.Root()); after != before {
				t.Fatalf("a refused Dockerfile changed the store:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func TestSetOverrideFromRefusesRunawayAndBrokenReaders(t *testing.T) {
	s := newStore(t)
	b := mustBottle(t, s, "a")
	// 10 MB: only MaxDockerfileSize+1 bytes are read before it is refused.
	counter := &countingReader{r: io.MultiReader(strings.NewReader("FROM scratch\n"), zeros{})}
	err := b.SetOverrideFrom(io.LimitReader(counter, 10<<20), "big.Dockerfile")
	wantErr(t, err, ErrInvalidDockerfile, "big.Dockerfile", "larger than")
	if counter.n > MaxDockerfileSize+1 {
		t.Errorf("read %d bytes of a runaway input, want at most %d", counter.n, MaxDockerfileSize+1)
	}
	broken := io.MultiReader(strings.NewReader("FROM scratch\nRUN "), errReader{errors.New("pipe burst")})
	if err := b.SetOverrideFrom(broken, "standard input"); err == nil || !strings.Contains(err.Error(), "pipe burst") ||
		!strings.Contains(err.Error(), "standard input") {
		t.Errorf("broken reader: %v", err)
	}
	if got := tree(t, s.Root()); got != "<absent>" {
		t.Fatalf("refused input wrote:\n%s", got)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func BenchmarkSetOverride(b *testing.B) {
	s := newStore(b)
	bt := mustBottle(b, s, "bench")
	data := []byte(validDockerfile + strings.Repeat("RUN echo step\n", 50))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := bt.SetOverride(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestOverrideReadError: an override that exists but cannot be read is an
// error, not "no override" (which would silently build the repo's image).
func TestOverrideReadError(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("skipping: root reads a file of mode 0000")
	}
	s := newStore(t)
	b := mustBottle(t, s, "a")
	if err := b.SetOverride([]byte(validDockerfile)); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b.DockerfilePath(), 0)
	defer os.Chmod(b.DockerfilePath(), 0o644)
	data, ok, err := b.Override()
	if err == nil || ok || data != nil || !errors.Is(err, os.ErrPermission) {
		t.Fatalf("Override() of an unreadable file = %q, %v, %v; want a permission error", data, ok, err)
	}
}
