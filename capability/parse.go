package capability

import (
	"strings"

	"github.com/claude-bottle/claude-bottle/dockerfile"
)

// This file is the package's one door to the project's Dockerfile parser
// (package dockerfile): what capability needs from a parse, kept small.

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
var errInvalidDockerfile = dockerfile.ErrInvalid

// parseDockerfile parses data with the project's parser; name is how
// messages call the file.
func parseDockerfile(name string, data []byte) (*parsed, error) {
	f, err := dockerfile.Parse(name, data)
	if err != nil {
		return nil, err
	}
	p := &parsed{finalBase: f.FinalBase()}
	p.finalUser, p.userSet = f.FinalUser()
	chain := finalChain(f)
	for _, in := range f.Instructions {
		p.instrs = append(p.instrs, instr{cmd: in.Command, line: in.Line, end: in.EndLine, source: in.Source,
			final: in.Stage >= 0 && chain[in.Stage]})
	}
	return p, nil
}

// finalChain marks the final stage and every stage it starts from, as
// BuildKit resolves a FROM that names an earlier stage.
func finalChain(f *dockerfile.File) map[int]bool {
	chain := map[int]bool{}
	for i := len(f.Stages) - 1; i >= 0; {
		chain[i] = true
		base, next := f.Stages[i].Base, -1
		for j := i - 1; j >= 0; j-- {
			if f.Stages[j].Name != "" && strings.EqualFold(f.Stages[j].Name, base) {
				next = j
				break
			}
		}
		i = next
	}
	return chain
}
