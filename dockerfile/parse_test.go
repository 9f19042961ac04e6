package dockerfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// wantInvalid fails t unless err is ErrInvalid and says every part.
func wantInvalid(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q is more than one line", err)
	}
}

func TestErrInvalidIsTheDriverClass(t *testing.T) {
	if ErrInvalid != driver.ErrInvalidDockerfile {
		t.Fatal("dockerfile.ErrInvalid and driver.ErrInvalidDockerfile are two values; the plugin protocol carries one class")
	}
}

func TestValidAccepted(t *testing.T) {
	for _, df := range []string{
		"FROM scratch", "FROM scratch\r\nRUN true\r\n", "\ufeffFROM scratch\n",
		readTestdata(t, "valid/heredoc"), readTestdata(t, "valid/multistage"),
	} {
		if err := Validate("x", []byte(df)); err != nil {
			t.Errorf("Validate(%q) = %v", df, err)
		}
	}
}

// invalidCases are refused by Validate; each message names the file and,
// when BuildKit gives one, the line. parse is true when Parse, which has
// none of Validate's limits, refuses it with the same message.
var invalidCases = []struct {
	name, file, data, want string
	parse                  bool
}{
	{"empty", "invalid/empty", "", "is empty; it needs at least a FROM line", true},
	{"blank", "invalid/blank", "", "is empty", true},
	{"unknown instruction", "invalid/unknown-instruction", "", " line 2: unknown instruction: FOO", true},
	{"unterminated heredoc", "invalid/unterminated-heredoc", "", " line 2: unterminated heredoc", true},
	{"no FROM", "invalid/no-from", "", "no FROM instruction", true},
	{"RUN before FROM", "invalid/run-before-from", "", " line 1: no build stage", true},
	{"unknown flag", "invalid/unknown-flag", "", " line 2: unknown flag: --nope", true},
	{"FROM without image", "invalid/from-without-image", "", " line 1: FROM requires", true},
	{"comments only", "invalid/comments-only", "", "no instructions", true},
	{"binary", "", "FROM scratch\n\x00\x01\x02ELF", "is not text", false},
	{"invalid UTF-8", "", "FROM scratch\nLABEL x=\xff\xfe\n", "is not text", false},
	{"over 1 MiB", "", "FROM scratch\n" + strings.Repeat("# padding\n", MaxSize/10), "1048576 bytes", false},
}

func TestInvalidRefused(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if tc.file != "" {
				data = readTestdata(t, tc.file)
			}
			wantInvalid(t, Validate(`"my/Dockerfile"`, []byte(data)), `"my/Dockerfile"`, tc.want)
			if !tc.parse {
				return
			}
			f, err := Parse(`"my/Dockerfile"`, []byte(data))
			if f != nil {
				t.Errorf("Parse returned a file with its error")
			}
			wantInvalid(t, err, `"my/Dockerfile"`, tc.want)
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "Good")
	os.WriteFile(good, []byte("FROM scratch\n"), 0o644)
	if f, err := ReadFile(good); err != nil || f.Name != `"`+good+`"` || f.FinalBase() != "scratch" {
		t.Fatalf("ReadFile(good) = %+v, %v", f, err)
	}
	bad := filepath.Join(dir, "Bad")
	os.WriteFile(bad, []byte("FROM scratch\nFROBNICATE\n"), 0o644)
	_, err := ReadFile(bad)
	wantInvalid(t, err, `"`+bad+`" line 2`, "FROBNICATE")
	_, err = ReadFile(filepath.Join(dir, "missing"))
	wantInvalid(t, err, "cannot read", "missing")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v, want it to say so (os.ErrNotExist)", err)
	}
	// No size limit: a big generated Dockerfile is still parsed, and its
	// error names the right line.
	big := "FROM scratch\n" + strings.Repeat("# padding padding padding\n", MaxSize/20) + "FROBNICATE\n"
	os.WriteFile(bad, []byte(big), 0o644)
	_, err = ReadFile(bad)
	wantInvalid(t, err, "FROBNICATE", "line "+strconv.Itoa(strings.Count(big, "\n")))
}

func TestReadRefusesRunawayAndBrokenReaders(t *testing.T) {
	// 10 MB: only MaxSize+1 bytes are read before it is refused.
	counter := &countingReader{r: io.MultiReader(strings.NewReader("FROM scratch\n"), zeros{})}
	_, err := Read(io.LimitReader(counter, 10<<20), "big.Dockerfile")
	wantInvalid(t, err, "big.Dockerfile", "larger than")
	if counter.n > MaxSize+1 {
		t.Errorf("read %d bytes of a runaway input, want at most %d", counter.n, MaxSize+1)
	}
	broken := io.MultiReader(strings.NewReader("FROM scratch\nRUN "), errReader{errors.New("pipe burst")})
	if _, err := Read(broken, "standard input"); err == nil || !strings.Contains(err.Error(), "pipe burst") ||
		!strings.Contains(err.Error(), "standard input") {
		t.Errorf("broken reader: %v", err)
	}
	data, err := Read(strings.NewReader("FROM scratch\n"), "in")
	if err != nil || string(data) != "FROM scratch\n" {
		t.Errorf("Read(good) = %q, %v", data, err)
	}
	_, err = Read(strings.NewReader("FROM scratch\nFOO\n"), "in.Dockerfile")
	wantInvalid(t, err, "in.Dockerfile line 2", "unknown instruction")
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
