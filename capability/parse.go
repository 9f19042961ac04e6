package capability

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/claude-bottle/claude-bottle/driver"
)

// This file is the package's one door to the Dockerfile parser: what
// capability needs from a parse, kept small so that it follows the
// project's dockerfile package without touching the rest.

// parsed is what capability needs to know of a Dockerfile.
type parsed struct {
	// finalBase is the image the final stage starts from ("scratch", an
	// image reference), following FROM lines that name earlier stages.
	finalBase string
	// finalUser is the effective USER at the end of the final stage, and
	// userSet whether the Dockerfile sets one at all.
	finalUser string
	userSet   bool
	// instrs are every instruction in source order.
	instrs []instr
}

// instr is one instruction and where it is.
type instr struct {
	cmd       string // upper case
	line, end int    // 1-based, inclusive
	source    string // the lines as written
	// final is true for instructions of the final stage or of a stage it
	// starts from: what the bottle's image is made of.
	final bool
}

// errInvalidDockerfile is the project's one class of Dockerfiles that do
// not parse.
var errInvalidDockerfile = driver.ErrInvalidDockerfile

// parseDockerfile parses data with BuildKit's parsers; name is how
// messages call the file.
func parseDockerfile(name string, data []byte) (*parsed, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: %s is empty; it needs at least a FROM line", errInvalidDockerfile, name)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s%s: %v; fix it and try again", errInvalidDockerfile, name, lineOf(err), rootCause(err))
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s%s: %v; fix it and try again", errInvalidDockerfile, name, lineOf(err), rootCause(err))
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%w: %s has no FROM instruction; add a FROM line", errInvalidDockerfile, name)
	}
	p := &parsed{}
	chain := map[int]bool{}
	for i := len(stages) - 1; i >= 0; {
		chain[i] = true
		for j := len(stages[i].Commands) - 1; j >= 0 && !p.userSet; j-- {
			if u, ok := stages[i].Commands[j].(*instructions.UserCommand); ok {
				p.finalUser, p.userSet = u.User, true
			}
		}
		base := expandBase(stages[i].BaseName, metaArgs, res.EscapeToken)
		i = stageBefore(stages, i, base)
		if i < 0 {
			p.finalBase = base
		}
	}
	lines := strings.Split(string(data), "\n")
	stage := -1
	for _, n := range res.AST.Children {
		cmd := strings.ToUpper(n.Value)
		if cmd == "FROM" {
			stage++
		}
		p.instrs = append(p.instrs, instr{cmd: cmd, line: n.StartLine, end: n.EndLine,
			source: sourceLines(lines, n.StartLine, n.EndLine), final: stage >= 0 && chain[stage]})
	}
	return p, nil
}

// stageBefore returns the index of the stage before i named name (as a
// FROM names an earlier stage, without regard to case), or -1.
func stageBefore(stages []instructions.Stage, i int, name string) int {
	for j := i - 1; j >= 0; j-- {
		if stages[j].Name != "" && strings.EqualFold(stages[j].Name, name) {
			return j
		}
	}
	return -1
}

// expandBase expands the global ARGs' defaults in a FROM's image name.
func expandBase(base string, metaArgs []instructions.ArgCommand, esc rune) string {
	lex := shell.NewLex(esc)
	var env []string
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				v, _, err := lex.ProcessWord(*kv.Value, shell.EnvsFromSlice(env))
				if err != nil {
					v = *kv.Value
				}
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	if v, _, err := lex.ProcessWord(base, shell.EnvsFromSlice(env)); err == nil && v != "" {
		return v
	}
	return base
}

func sourceLines(lines []string, start, end int) string {
	if start < 1 || end < start || end > len(lines) {
		return ""
	}
	out := make([]string, 0, end-start+1)
	for _, l := range lines[start-1 : end] {
		out = append(out, strings.TrimSuffix(l, "\r"))
	}
	return strings.Join(out, "\n")
}

func lineOf(err error) string {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		return fmt.Sprintf(" line %d", le.Locations[0][0].Start.Line)
	}
	return ""
}

func rootCause(err error) error {
	for {
		var le *parser.LocationError
		if errors.As(err, &le) {
			if inner := le.Unwrap(); inner != nil && inner != err {
				err = inner
				continue
			}
		}
		return err
	}
}
