package capability

import (
	"fmt"
	"strings"
	"time"
)

// Rendered is an override rendered from a base Dockerfile and a bottle's
// capabilities: the base verbatim, then each layer capability at the end
// of the final stage.
type Rendered struct {
	// Data is the override's content.
	Data []byte
	// BaseLines is how many lines of Data are the base's.
	BaseLines int
	// Layers says where each layer capability is in Data, in order.
	Layers []Layer
}

// Layer is where one capability's instructions are in a rendered
// override.
type Layer struct {
	// Name is the capability's name.
	Name string
	// Start and End are its lines in the override, 1-based and inclusive,
	// from the comment that names it to its last line.
	Start, End int
	// Steps are its instructions as written, one an instruction, for
	// telling which capability a failed build step belongs to.
	Steps []string
}

// Render renders the override of base with caps: base verbatim (with a
// final newline), then for each layer capability, in order, a comment
// naming it, USER lines around it when its user differs from the
// effective one, and its instructions. Layers go at the end of the final
// stage, so every step before them stays cached. The result is parsed
// again: instructions that would run into what follows them are refused.
func Render(base []byte, caps []Capability) (*Rendered, error) {
	bp, err := parseDockerfile("the base Dockerfile", base)
	if err != nil {
		return nil, err
	}
	final := DefaultUser
	if bp.userSet {
		final = bp.finalUser
	}
	var b strings.Builder
	b.Write(base)
	if len(base) > 0 && base[len(base)-1] != '\n' {
		b.WriteByte('\n')
	}
	r := &Rendered{BaseLines: strings.Count(b.String(), "\n")}
	var want [][2]int // expected (line, end) of every added instruction
	line := r.BaseLines
	emit := func(text string, instruction bool) {
		n := strings.Count(text, "\n") + 1
		b.WriteString(text + "\n")
		if instruction {
			want = append(want, [2]int{line + 1, line + n})
		}
		line += n
	}
	for _, c := range caps {
		if c.Kind != KindLayer {
			continue
		}
		text, err := checkInstructions(c.Name, c.Instructions)
		if err != nil {
			return nil, err
		}
		steps, err := layerSteps(c.Name, text)
		if err != nil {
			return nil, err
		}
		user := c.User
		if user == "" {
			user = DefaultUser
		}
		b.WriteString("\n")
		line++
		l := Layer{Name: c.Name, Start: line + 1}
		emit(comment(c), false)
		if user != final {
			emit("USER "+user, true)
		}
		cur := user
		for _, s := range steps {
			emit(s, true)
			if u, ok := userOf(s); ok {
				cur = u
			}
		}
		if cur != final {
			emit("USER "+final, true)
		}
		l.End, l.Steps = line, steps
		r.Layers = append(r.Layers, l)
	}
	r.Data = []byte(b.String())
	if err := r.verify(want); err != nil {
		return nil, err
	}
	return r, nil
}

// verify parses the rendered override and checks that the base ends
// where it did and that every added instruction is where it was put: a
// base or a capability that ran on into the next line is refused.
func (r *Rendered) verify(want [][2]int) error {
	p, err := parseDockerfile("the rendered override", r.Data)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	for _, in := range p.instrs {
		if in.line <= r.BaseLines && in.end > r.BaseLines {
			return fmt.Errorf("%w: the base Dockerfile's last instruction (line %d) runs on past its end (a trailing continuation character?); end it", ErrInvalid, in.line)
		}
	}
	var got [][2]int
	for _, in := range p.instrs {
		if in.line > r.BaseLines {
			got = append(got, [2]int{in.line, in.end})
		}
	}
	for i := range max(len(got), len(want)) {
		if i < len(got) && i < len(want) && got[i] == want[i] {
			continue
		}
		at := r.BaseLines + 1
		if i < len(want) {
			at = want[i][0]
		}
		return fmt.Errorf("%w: capability %q does not end where it should in the override (line %d); check its continuation characters and heredocs", ErrInvalid, r.layerAt(at), at)
	}
	return nil
}

// layerAt names the layer holding line n.
func (r *Rendered) layerAt(n int) string {
	for _, l := range r.Layers {
		if n >= l.Start && n <= l.End {
			return l.Name
		}
	}
	return "?"
}

// layerSteps splits checked instructions into one text an instruction.
func layerSteps(name, text string) ([]string, error) {
	p, err := parseDockerfile(fmt.Sprintf("capability %q", name), []byte("FROM scratch\n"+text+"\n"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	steps := make([]string, 0, len(p.instrs)-1)
	for _, in := range p.instrs[1:] {
		steps = append(steps, in.source)
	}
	return steps, nil
}

// userOf returns the user a USER instruction sets.
func userOf(step string) (string, bool) {
	f := strings.Fields(step)
	if len(f) == 2 && strings.EqualFold(f[0], "USER") {
		return f[1], true
	}
	return "", false
}

// comment is the line that names a capability in the override. Every
// field in it was checked to hold no line break; a trailing continuation
// character is dropped all the same.
func comment(c Capability) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# capability %q", c.Name)
	if c.Reason != "" {
		b.WriteString(": " + c.Reason)
	}
	b.WriteString(" (approved by " + orUnknown(c.ApprovedBy))
	if !c.ApprovedAt.IsZero() {
		b.WriteString(" at " + c.ApprovedAt.UTC().Format(time.RFC3339))
	}
	if c.Source.RequestID != "" {
		b.WriteString(", request " + c.Source.RequestID)
	}
	b.WriteString(")")
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, b.String())
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
