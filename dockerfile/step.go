package dockerfile

import (
	"fmt"
	"regexp"
	"strings"
)

// stepName splits BuildKit's name of a Dockerfile step, "[stage 2/3] RUN
// make" or "[2/3] RUN make", into its stage and its instruction text.
var stepName = regexp.MustCompile(`^\[(?:([^\]]+) )?\d+/\d+\] (.+)$`)

// Step finds the instruction a build step comes from, by the name BuildKit
// gives the step ("[2/3] RUN make", "[base 1/2] COPY a b"): the
// instruction whose text, continuation lines joined and spaces folded, is
// the step's. When several match, the one in the stage the step names
// wins, else the first. A step whose text BuildKit changed (build arguments
// expanded into it) matches nothing: ok is false then.
func (f *File) Step(name string) (in Instruction, ok bool) {
	m := stepName.FindStringSubmatch(strings.TrimSpace(name))
	if m == nil {
		return Instruction{}, false
	}
	stage, text := strings.ToLower(m[1]), fold(m[2])
	var found []Instruction
	for _, in := range f.Instructions {
		if fold(in.Source) == text || strings.EqualFold(fold(in.Source), text) && keywordOnlyDiffers(in.Source, m[2]) {
			found = append(found, in)
		}
	}
	if len(found) == 0 {
		return Instruction{}, false
	}
	for _, in := range found {
		if stage != "" && in.Stage >= 0 && f.stageLabel(in.Stage) == stage {
			return in, true
		}
	}
	return found[0], true
}

// stageLabel is how BuildKit's step names call stage i: its name, or
// "stage-i" when it has none.
func (f *File) stageLabel(i int) string {
	if n := f.Stages[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("stage-%d", i)
}

// fold joins continuation lines and folds runs of white space, as BuildKit
// shows an instruction in a step name.
func fold(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	return strings.Join(strings.Fields(s), " ")
}

// keywordOnlyDiffers reports whether source and step differ only in the
// case of the instruction's keyword ("run make" in the file, "RUN make" in
// the step).
func keywordOnlyDiffers(source, step string) bool {
	a, b := strings.Fields(fold(source)), strings.Fields(step)
	if len(a) == 0 || len(a) != len(b) {
		return false
	}
	return strings.Join(a[1:], " ") == strings.Join(b[1:], " ")
}

// Excerpt renders the lines of a Dockerfile's text around lines line to
// end (1-based), the way buildx shows the line a build failed on:
//
//	--------------------
//	   2 |     COPY busybox /bin/busybox
//	   3 | >>> RUN exit 3
//	--------------------
//
// with up to around lines before and after. It returns "" when line is
// not in data.
func Excerpt(data []byte, line, end, around int) string {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if end < line {
		end = line
	}
	if line < 1 || line > len(lines) {
		return ""
	}
	end = min(end, len(lines))
	first, last := max(1, line-around), min(len(lines), end+around)
	var b strings.Builder
	b.WriteString("--------------------\n")
	for i := first; i <= last; i++ {
		mark := "    "
		if i >= line && i <= end {
			mark = ">>> "
		}
		fmt.Fprintf(&b, " %3d | %s%s\n", i, mark, strings.TrimRight(lines[i-1], "\r"))
	}
	b.WriteString("--------------------\n")
	return b.String()
}
