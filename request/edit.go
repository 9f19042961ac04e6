package request

import (
	"errors"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// ErrEditCanceled: the operator emptied the instructions in the editor.
var ErrEditCanceled = errors.New("edit canceled")

// packagesPrefix starts the line that gives packages instead of run
// commands in an edited file.
const packagesPrefix = "packages:"

// EditTemplate is the text `request approve --edit` opens in $EDITOR: the
// request's instructions, one per line, under comments saying how to edit
// them.
func EditTemplate(r *Request) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Request %s of bottle %s: capability %q\n", r.ID, r.Slug, r.Name)
	fmt.Fprintf(&b, "# Reason: %s\n", r.Reason)
	if r.Evidence != nil && r.Evidence.Command != "" {
		fmt.Fprintf(&b, "# Failed command: %s\n", strings.ReplaceAll(r.Evidence.Command, "\n", " "))
	}
	b.WriteString("#\n# One run command per line (each becomes a RUN line), or one line\n")
	b.WriteString("# \"packages: NAME...\" for the base's package manager. Lines starting\n")
	b.WriteString("# with # are ignored. Save to approve; an empty file cancels.\n")
	run, pkgs := r.Instructions()
	for _, c := range run {
		b.WriteString(c + "\n")
	}
	if len(pkgs) > 0 {
		b.WriteString(packagesPrefix + " " + strings.Join(pkgs, " ") + "\n")
	}
	return []byte(b.String())
}

// ParseEdit reads an edited EditTemplate back: run commands, or packages
// from a "packages:" line. The result is checked as a bottle's input is; an
// empty file is ErrEditCanceled.
func ParseEdit(text []byte) (run, pkgs []string, err error) {
	for _, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, packagesPrefix); ok {
			pkgs = append(pkgs, strings.Fields(rest)...)
			continue
		}
		run = append(run, line)
	}
	if len(run) == 0 && len(pkgs) == 0 {
		return nil, nil, fmt.Errorf("%w: the edited instructions are empty; nothing changed", ErrEditCanceled)
	}
	if err := bottleapi.ValidateInstructions(run, pkgs); err != nil {
		return nil, nil, fmt.Errorf("the edited instructions: %w", err)
	}
	return run, pkgs, nil
}
