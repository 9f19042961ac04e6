package dockerfile

import (
	"reflect"
	"testing"
)

// TestFileShape parses each valid testdata file and checks what the
// capability work reads of it: the stages, the final stage's base image
// and effective USER.
func TestFileShape(t *testing.T) {
	tests := []struct {
		file     string
		stages   []string // each stage as name<-base
		base     string
		user     string
		userSet  bool
		commands []string
	}{
		{"valid/heredoc", []string{"<-scratch"}, "scratch", "", false,
			[]string{"FROM", "COPY", "RUN", "CMD"}},
		{"valid/multistage", []string{"build<-debian:12", "test<-build", "other<-other-image", "<-test"}, "debian:12", "builder", true,
			[]string{"ARG", "ARG", "FROM", "USER", "RUN", "FROM", "RUN", "FROM", "USER", "FROM", "COPY"}},
		{"valid/user-changes", []string{"a<-alpine", "<-a"}, "alpine", "node:node", true,
			[]string{"FROM", "USER", "FROM", "USER", "RUN", "USER"}},
		{"valid/crlf-bom", []string{"<-scratch"}, "scratch", "1000:1000", true,
			[]string{"FROM", "USER", "CMD"}},
		// ${TARGET:-alpine} takes its default; ${IMG} has none and stays as
		// written, as nothing here knows the build arguments.
		{"valid/args", []string{"x<-alpine:3", "<-${IMG}"}, "${IMG}", "", false,
			[]string{"ARG", "ARG", "FROM", "FROM"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := Parse(tc.file, []byte(readTestdata(t, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			var stages, commands []string
			for i, s := range f.Stages {
				if s.Index != i {
					t.Errorf("stage %d has Index %d", i, s.Index)
				}
				stages = append(stages, s.Name+"<-"+s.Base)
			}
			for _, in := range f.Instructions {
				commands = append(commands, in.Command)
			}
			if !reflect.DeepEqual(stages, tc.stages) {
				t.Errorf("stages %q, want %q", stages, tc.stages)
			}
			if !reflect.DeepEqual(commands, tc.commands) {
				t.Errorf("instructions %q, want %q", commands, tc.commands)
			}
			if got := f.FinalBase(); got != tc.base {
				t.Errorf("FinalBase() = %q, want %q", got, tc.base)
			}
			if user, ok := f.FinalUser(); user != tc.user || ok != tc.userSet {
				t.Errorf("FinalUser() = %q, %v; want %q, %v", user, ok, tc.user, tc.userSet)
			}
		})
	}
}

// TestInstructionSource: each instruction knows its lines and their text,
// continuation lines and heredoc bodies included, line ends and a BOM
// dropped.
func TestInstructionSource(t *testing.T) {
	f, err := Parse("multistage", []byte(readTestdata(t, "valid/multistage")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Instruction{
		{Command: "ARG", Line: 2, EndLine: 2, Source: "ARG BASE=debian", Stage: -1},
		{Command: "ARG", Line: 3, EndLine: 3, Source: "ARG TAG=${BASE}-slim", Stage: -1},
		{Command: "FROM", Line: 4, EndLine: 4, Source: "FROM ${BASE}:12 AS build", Stage: 0},
		{Command: "USER", Line: 5, EndLine: 5, Source: "USER builder", Stage: 0},
		{Command: "RUN", Heredoc: true, Line: 6, EndLine: 8, Source: "RUN <<EOF\necho building\nEOF", Stage: 0},
		{Command: "FROM", Line: 10, EndLine: 10, Source: "FROM build AS Test", Stage: 1},
		{Command: "RUN", Line: 11, EndLine: 12, Source: "RUN make \\\n    test", Stage: 1},
		{Command: "FROM", Line: 14, EndLine: 14, Source: "FROM other-image AS other", Stage: 2},
		{Command: "USER", Line: 15, EndLine: 15, Source: "USER other", Stage: 2},
		{Command: "FROM", Line: 17, EndLine: 17, Source: "FROM test", Stage: 3},
		{Command: "COPY", Flags: []string{"--from=build", "--chown=1:1"}, Line: 18, EndLine: 18, Source: "COPY --from=build --chown=1:1 /out /out", Stage: 3},
	}
	for i := range want {
		if want[i].Flags == nil {
			want[i].Flags = []string{}
		}
	}
	got := f.Instructions
	for i := range got {
		if got[i].Flags == nil {
			got[i].Flags = []string{}
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("instructions =\n%+v\nwant\n%+v", got, want)
	}
	if s := f.Stages[1]; s.Line != 10 || s.Name != "test" {
		t.Errorf("stage 1 = %+v, want test on line 10", s)
	}

	bom, err := Parse("crlf-bom", []byte(readTestdata(t, "valid/crlf-bom")))
	if err != nil {
		t.Fatal(err)
	}
	if src := bom.Instructions[0].Source; src != "FROM scratch" {
		t.Errorf("first line with a BOM and CRLF = %q, want %q", src, "FROM scratch")
	}
}

func TestStageLookup(t *testing.T) {
	f, err := Parse("multistage", []byte(readTestdata(t, "valid/multistage")))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"build", "Test", "TEST", "other"} {
		if _, ok := f.Stage(name); !ok {
			t.Errorf("Stage(%q) not found", name)
		}
	}
	for _, name := range []string{"", "debian", "final"} {
		if s, ok := f.Stage(name); ok {
			t.Errorf("Stage(%q) = %+v, want none", name, s)
		}
	}
	if user, ok := f.User(&f.Stages[2]); user != "other" || !ok {
		t.Errorf("User(other) = %q, %v", user, ok)
	}
	if base := f.BaseImage(&f.Stages[1]); base != "debian:12" {
		t.Errorf("BaseImage(test) = %q", base)
	}
}

// TestStageReferencesOnlyEarlier: as in BuildKit, FROM names a stage only
// if that stage comes first; otherwise it names an image.
func TestStageReferencesOnlyEarlier(t *testing.T) {
	f, err := Parse("x", []byte("FROM app\nUSER nobody\nFROM scratch AS app\nFROM app\n"))
	if err != nil {
		t.Fatal(err)
	}
	if base := f.BaseImage(&f.Stages[0]); base != "app" {
		t.Errorf("BaseImage(first) = %q, want the image app", base)
	}
	if base := f.FinalBase(); base != "scratch" {
		t.Errorf("FinalBase() = %q, want scratch (through the earlier stage app)", base)
	}
	if user, ok := f.FinalUser(); ok {
		t.Errorf("FinalUser() = %q; the USER is in a stage the final one does not start from", user)
	}
}
