package dockerfile

import (
	"bytes"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// File is a parsed Dockerfile.
type File struct {
	// Name is how messages call the file, as given to Parse.
	Name string
	// Instructions are every instruction, the global ARGs before the first
	// FROM included, in source order.
	Instructions []Instruction
	// Stages are the build stages in source order; Parse guarantees at
	// least one.
	Stages []Stage
}

// Instruction is one instruction of a Dockerfile and where it is.
type Instruction struct {
	// Command is the instruction's keyword in upper case: "FROM", "RUN".
	Command string
	// Flags are its flags as written: "--mount=type=cache,target=/x".
	Flags []string
	// Heredoc is true when it carries a heredoc (RUN <<EOF ...).
	Heredoc bool
	// Line and EndLine are its first and last source lines, 1-based;
	// continuation lines and heredoc bodies are within them.
	Line, EndLine int
	// Source is the text of those lines, exactly as written.
	Source string
	// Stage is the index in File.Stages of the stage it belongs to (a FROM
	// belongs to the stage it opens), or -1 for a global ARG.
	Stage int
}

// Stage is one build stage: a FROM and the instructions up to the next.
type Stage struct {
	// Index is the stage's position in File.Stages.
	Index int
	// Name is the stage's name (FROM ... AS name), lower case as BuildKit
	// keeps it, or "" for an unnamed stage.
	Name string
	// Base is what the stage starts from, as FROM names it with the global
	// ARGs' defaults expanded: an image reference, "scratch", or the name
	// of an earlier stage.
	Base string
	// Platform is FROM's --platform value as written, or "".
	Platform string
	// Line is the line of the stage's FROM.
	Line int
	// User is the argument of the stage's last USER instruction as written,
	// or "" when the stage has none (see File.User).
	User string
}

// Final returns the last stage: the one built when no target is named.
func (f *File) Final() *Stage { return &f.Stages[len(f.Stages)-1] }

// Stage returns the stage named name (compared without regard to case, as
// BuildKit does for --target), and whether there is one.
func (f *File) Stage(name string) (*Stage, bool) {
	for i := range f.Stages {
		if f.Stages[i].Name != "" && strings.EqualFold(f.Stages[i].Name, name) {
			return &f.Stages[i], true
		}
	}
	return nil, false
}

// BaseImage returns the image stage s starts from, following FROM lines
// that name an earlier stage back to the image (or "scratch") the chain
// starts from.
func (f *File) BaseImage(s *Stage) string {
	for {
		parent := f.parent(s)
		if parent == nil {
			return s.Base
		}
		s = parent
	}
}

// User returns the effective USER at the end of stage s: its own last
// USER, else that of the earlier stage it starts from, and so on. ok is
// false when no stage in the chain sets one: the base image's own user
// applies, which the Dockerfile does not say.
func (f *File) User(s *Stage) (user string, ok bool) {
	for s != nil {
		if s.User != "" {
			return s.User, true
		}
		s = f.parent(s)
	}
	return "", false
}

// FinalBase returns the image the final stage starts from (BaseImage of
// Final).
func (f *File) FinalBase() string { return f.BaseImage(f.Final()) }

// FinalUser returns the effective USER at the end of the final stage
// (User of Final): the user a bottle's image runs as, when ok.
func (f *File) FinalUser() (user string, ok bool) { return f.User(f.Final()) }

// parent returns the earlier stage s starts from, or nil when s starts
// from an image. As in BuildKit, a FROM names a stage only if that stage
// comes before it.
func (f *File) parent(s *Stage) *Stage {
	for i := min(s.Index, len(f.Stages)) - 1; i >= 0; i-- {
		if f.Stages[i].Name != "" && strings.EqualFold(f.Stages[i].Name, s.Base) {
			return &f.Stages[i]
		}
	}
	return nil
}

// newFile builds a File from BuildKit's parse of data.
func newFile(name string, data []byte, res *parser.Result, stages []instructions.Stage, metaArgs []instructions.ArgCommand) *File {
	f := &File{Name: name}
	lines := bytes.Split(data, []byte("\n"))
	stage := -1
	for _, n := range res.AST.Children {
		cmd := strings.ToUpper(n.Value)
		if cmd == "FROM" {
			stage++
		}
		f.Instructions = append(f.Instructions, Instruction{
			Command: cmd, Flags: n.Flags, Heredoc: len(n.Heredocs) > 0,
			Line: n.StartLine, EndLine: n.EndLine, Source: source(lines, n.StartLine, n.EndLine),
			Stage: stage,
		})
	}
	args := globalArgs(res.EscapeToken, metaArgs)
	lex := shell.NewLex(res.EscapeToken)
	for i, st := range stages {
		s := Stage{Index: i, Name: st.Name, Base: st.BaseName, Platform: st.Platform}
		if base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(args)); err == nil && base != "" {
			s.Base = base
		}
		if len(st.Location) > 0 {
			s.Line = st.Location[0].Start.Line
		}
		for _, c := range st.Commands {
			if u, ok := c.(*instructions.UserCommand); ok {
				s.User = u.User
			}
		}
		f.Stages = append(f.Stages, s)
	}
	return f
}

// globalArgs returns the global ARGs' defaults as KEY=VALUE, each expanded
// with those before it, as BuildKit expands them for FROM lines (build
// arguments given at build time are not known here).
func globalArgs(escape rune, metaArgs []instructions.ArgCommand) []string {
	lex := shell.NewLex(escape)
	var env []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env))
			if err != nil {
				v = *kv.Value
			}
			env = append(env, kv.Key+"="+v)
		}
	}
	return env
}

// source returns lines start to end (1-based, inclusive) of a file split
// on newlines, without their line ends.
func source(lines [][]byte, start, end int) string {
	if start < 1 || end < start || end > len(lines) {
		return ""
	}
	var b strings.Builder
	for i := start; i <= end; i++ {
		line := bytes.TrimSuffix(lines[i-1], []byte("\r"))
		if i == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff")) // BuildKit drops a BOM too
		}
		if i > start {
			b.WriteByte('\n')
		}
		b.Write(line)
	}
	return b.String()
}
