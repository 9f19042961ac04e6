package launch

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/dockerfile"
)

// TestDerivedDockerfile compares the derived Dockerfile with a golden file
// per case, and checks that BuildKit's parser reads it back as one stage
// on the base with the folder as WORKDIR and label, however odd the path.
func TestDerivedDockerfile(t *testing.T) {
	tests := []struct {
		name, base, cwd string
	}{
		{"plain", "claude-bottle:latest", "/home/me/project"},
		{"spaces and quotes", "claude-bottle-rebuilt-a:latest", `/tmp/my "quoted" dir/x y`},
		// Docker expands $VAR in WORKDIR and LABEL even inside quotes:
		// the word must be escaped to name the folder.
		{"dollar and backslash", "claude-bottle:latest", `/srv/$HOME/a\b`},
		{"html and braces", "claude-bottle:latest", `/srv/a&b<c>/${X}/'q'`},
		{"unicode", "claude-bottle:latest", "/home/zoë/プロジェクト"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DerivedDockerfile(tc.base, tc.cwd)
			golden(t, filepath.Join("testdata", "derived", strings.ReplaceAll(tc.name, " ", "-")+".Dockerfile"), got)
			f, err := dockerfile.Parse("derived", []byte(got))
			if err != nil {
				t.Fatalf("the derived Dockerfile does not parse: %v\n%s", err, got)
			}
			if len(f.Stages) != 1 || f.FinalBase() != tc.base {
				t.Errorf("stages %+v, want one on %s", f.Stages, tc.base)
			}
			var cmds []string
			for _, in := range f.Instructions {
				cmds = append(cmds, in.Command)
			}
			if strings.Join(cmds, " ") != "FROM WORKDIR LABEL" {
				t.Errorf("instructions %v, want FROM WORKDIR LABEL (no RUN: the base may have no shell)", cmds)
			}
			if !strings.Contains(got, "LABEL "+bottle.CwdLabel+"=") {
				t.Errorf("no %s label:\n%s", bottle.CwdLabel, got)
			}
			// What Docker's lexer makes of the words is the folder itself.
			for _, line := range strings.Split(strings.TrimSpace(got), "\n")[1:] {
				word := strings.SplitN(line, " ", 2)[1]
				if strings.HasPrefix(line, "LABEL ") {
					word = strings.TrimPrefix(word, bottle.CwdLabel+"=")
				}
				lexed, _, err := shell.NewLex('\\').ProcessWord(word, shell.EnvsFromSlice([]string{"HOME=/root", "X=x"}))
				if err != nil || lexed != tc.cwd {
					t.Errorf("%s: Docker reads %q (%v), want the folder %q", line, lexed, err, tc.cwd)
				}
			}
		})
	}
}

// golden compares got with the file at path; UPDATE_GOLDEN=1 rewrites it.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestDockerfileTar(t *testing.T) {
	r, err := dockerfileTar("FROM scratch\n")
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "Dockerfile" || hdr.Size != int64(len("FROM scratch\n")) {
		t.Fatalf("first entry %+v, %v", hdr, err)
	}
	data, _ := io.ReadAll(tr)
	if string(data) != "FROM scratch\n" {
		t.Errorf("Dockerfile = %q", data)
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("more than the Dockerfile in the context: %v", err)
	}
}

func TestReadBuildStream(t *testing.T) {
	tests := []struct {
		name, stream, err string
	}{
		{"success", `{"stream":"Step 1/3 : FROM base"}` + "\n" + `{"stream":"Successfully built abc"}` + "\n", ""},
		{"empty", "", ""},
		{"error", `{"stream":"Step 1/3"}{"error":"  pull access denied for base\n","errorDetail":{"message":"pull access denied"}}`, "pull access denied for base"},
		{"garbage", `{"stream":`, "unexpected EOF"},
	}
	for _, tc := range tests {
		err := readBuildStream(strings.NewReader(tc.stream))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
			t.Errorf("%s: readBuildStream = %v, want %q", tc.name, err, tc.err)
		}
	}
}
