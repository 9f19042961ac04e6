package capability

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestRenderGolden renders each testdata/render/CASE's base.Dockerfile
// with its capabilities.json and compares with want.Dockerfile, then
// checks what the golden files cannot show: the base is kept verbatim as
// the prefix, every layer's span starts with its comment, and the result
// parses.
func TestRenderGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/render/*")
	if len(dirs) == 0 {
		t.Fatal("no render cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			base := readFile(t, filepath.Join(dir, "base.Dockerfile"))
			var caps []Capability
			if err := json.Unmarshal(readFile(t, filepath.Join(dir, "capabilities.json")), &caps); err != nil {
				t.Fatal(err)
			}
			for i := range caps {
				if err := caps[i].Validate(); err != nil {
					t.Fatalf("testdata capability: %v", err)
				}
			}
			r, err := Render(base, caps)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join(dir, "want.Dockerfile"), r.Data)
			if !strings.HasPrefix(string(r.Data), string(base)) {
				t.Error("the base is not kept verbatim at the start")
			}
			lines := strings.Split(string(r.Data), "\n")
			for _, l := range r.Layers {
				if want := `# capability "` + l.Name + `"`; !strings.HasPrefix(lines[l.Start-1], want) {
					t.Errorf("layer %s starts at line %d with %q", l.Name, l.Start, lines[l.Start-1])
				}
				if l.Start <= r.BaseLines || l.End < l.Start {
					t.Errorf("layer %s spans %d-%d, base has %d lines", l.Name, l.Start, l.End, r.BaseLines)
				}
			}
			if _, err := parseDockerfile("rendered", r.Data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRenderKeepsEarlierLayers: adding a capability leaves every line
// before it as it was, so the steps of earlier layers stay cached.
func TestRenderKeepsEarlierLayers(t *testing.T) {
	base := []byte("FROM scratch\nUSER 1000\n")
	one := []Capability{layer("a", "RUN a\n")}
	two := append(append([]Capability{}, one...), layer("b", "RUN b\n"))
	r1, err := Render(base, one)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Render(base, two)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(r2.Data), string(r1.Data)) {
		t.Errorf("adding a layer changed what came before it:\n%s\n---\n%s", r1.Data, r2.Data)
	}
}

func layer(name, instructions string) Capability {
	return Capability{Name: name, Kind: KindLayer, Instructions: instructions, User: "root", ApprovedBy: "t", Source: Source{Kind: SourceOperator}}
}

// TestHostileInstructions: instructions that would break out of their
// layer, or are not instructions at all, are refused as ErrInvalid with a
// line that says what is wrong.
func TestHostileInstructions(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"FROM", "RUN true\nFROM evil:latest\nRUN steal", "holds a FROM (its line 2)"},
		{"lowercase from", "from evil", "holds a FROM"},
		{"trailing continuation", "RUN echo \\", "runs on past its end"},
		{"continuation swallowing a restore", "RUN echo hi \\\n", "runs on past its end"},
		{"unterminated heredoc", "RUN <<EOF\necho hi", "unterminated heredoc"},
		{"unknown instruction", "RUN true\nFOO bar", "unknown instruction"},
		{"empty", " \n\t\n", "has no instructions"},
		{"comments only", "# just a comment\n", "only comments"},
		{"NUL", "RUN true\x00", "not text"},
		{"invalid UTF-8", "RUN \xff", "not text"},
		{"too big", "RUN " + strings.Repeat("x", MaxInstructions), "more than"},
		{"unknown flag", "RUN --nope true", "unknown flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := layer("x", tc.text)
			err := c.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v; want ErrInvalid saying %q", err, tc.want)
			}
			if _, err := Render([]byte("FROM scratch\n"), []Capability{c}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Render() = %v; want ErrInvalid", err)
			}
		})
	}
}

func TestAcceptedInstructions(t *testing.T) {
	for _, text := range []string{
		"RUN true",
		"RUN true\r\nENV A=1\r\n",
		"RUN <<EOF\necho hi\nEOF\n",
		"# escape=`\nRUN echo done",
		"COPY tools/ /opt/tools/\nRUN --mount=type=cache,target=/var/cache/apt apt-get install -y jq",
		"\n\nRUN a \\\n  && b\n\n",
	} {
		c := layer("ok", text)
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%q) = %v", text, err)
		}
		if _, err := Render([]byte("FROM scratch\n"), []Capability{c}); err != nil {
			t.Errorf("Render(%q) = %v", text, err)
		}
	}
}

// TestRenderRefusesBaseThatRunsOn: a base whose last line continues would
// swallow the first capability's USER line.
func TestRenderRefusesBaseThatRunsOn(t *testing.T) {
	_, err := Render([]byte("FROM scratch\nUSER 1000\nRUN echo \\"), []Capability{layer("a", "RUN a")})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "base Dockerfile's last instruction") {
		t.Fatalf("Render = %v", err)
	}
}

func TestValidateFields(t *testing.T) {
	ok := layer("jq", "RUN true")
	for _, tc := range []struct {
		name string
		edit func(c *Capability)
		want string
	}{
		{"name with a slash", func(c *Capability) { c.Name = "../x" }, "capability name follows the slug rule"},
		{"upper-case name", func(c *Capability) { c.Name = "JQ" }, "slug rule"},
		{"user with a newline", func(c *Capability) { c.User = "root\nRUN evil" }, "user"},
		{"user with spaces", func(c *Capability) { c.User = "root evil" }, "user"},
		{"reason with a newline", func(c *Capability) { c.Reason = "x\nRUN evil" }, "one line"},
		{"long reason", func(c *Capability) { c.Reason = strings.Repeat("r", MaxReason+1) }, "more than"},
		{"kind", func(c *Capability) { c.Kind = "magic" }, `kind "magic"`},
		{"request without ID", func(c *Capability) { c.Source = Source{Kind: SourceRequest} }, "request ID"},
		{"bad request ID", func(c *Capability) { c.Source = Source{Kind: SourceRequest, RequestID: "rq-x\n"} }, "request ID"},
		{"approver", func(c *Capability) { c.ApprovedBy = "a\nb" }, "approver"},
	} {
		c := ok
		tc.edit(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v; want ErrInvalid saying %q", tc.name, err, tc.want)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("a good capability: %v", err)
	}
}

func TestRunInstructions(t *testing.T) {
	got, err := RunInstructions([]string{"echo jq > /etc/jq", " apk add jq "})
	if err != nil || got != "RUN echo jq > /etc/jq\nRUN apk add jq\n" {
		t.Errorf("RunInstructions = %q, %v", got, err)
	}
	for _, bad := range []string{"", "true\nFROM evil", "a\rb", "x\x1b[2J"} {
		if _, err := RunInstructions([]string{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("RunInstructions(%q) = %v; want ErrInvalid", bad, err)
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs:\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
