package capability

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// BuildError is a change whose build failed. Nothing was changed: the
// bottle's tag, override and list are as they were.
type BuildError struct {
	// Slug is the bottle.
	Slug string
	// Capability names the capability whose instructions failed; "" when
	// the failed step is the base's (or could not be told).
	Capability string
	// Step is the failed step as the driver named it.
	Step string
	// Lines are the step's last log lines.
	Lines []string
	// Err is the driver's error (driver.ErrBuildFailed, ErrCanceled...).
	Err error
}

// Error says which capability failed and quotes the last lines.
func (e *BuildError) Error() string {
	var b strings.Builder
	switch {
	case errors.Is(e.Err, driver.ErrCanceled):
		fmt.Fprintf(&b, "the build for bottle %q was canceled", e.Slug)
	case e.Capability != "":
		fmt.Fprintf(&b, "capability %q failed to build on bottle %q", e.Capability, e.Slug)
	default:
		fmt.Fprintf(&b, "the build of bottle %q failed in its base, before any capability", e.Slug)
	}
	if e.Step != "" {
		fmt.Fprintf(&b, " at step %q", e.Step)
	}
	b.WriteString("; nothing was changed (the tag, the override and the list are as they were)")
	if len(e.Lines) > 0 {
		last := e.Lines[max(0, len(e.Lines)-3):]
		fmt.Fprintf(&b, "; last output: %s", strings.Join(last, " | "))
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the driver's error, so its class survives.
func (e *BuildError) Unwrap() error { return e.Err }

// buildError maps a failed build to the capability whose step failed:
// first the failed step's name against each layer's instructions, then a
// line of the rendered override the error points at, then the layers'
// commands quoted in the error.
func buildError(slug string, err error, c *Capture, r *Rendered, dockerfile string) error {
	e := &BuildError{Slug: slug, Err: err}
	if f, ok := c.Failed(); ok {
		e.Step, e.Lines = f.Name, f.Lines
	}
	if r == nil {
		return e
	}
	if name, ok := r.Locate(e.Step); ok {
		e.Capability = name
	} else if name, ok := r.locateInError(err.Error(), dockerfile); ok {
		e.Capability = name
	}
	return e
}

// stepPrefix is the "[stage-0 5/6] " a driver puts before a step's
// instruction.
var stepPrefix = regexp.MustCompile(`^\[[^\]]*\]\s*`)

// Locate names the layer capability a build step belongs to, from the
// step's name as a driver shows it ("[stage-0 5/6] RUN make", "[5/6] RUN
// make"). ok is false for a step of the base, or one it cannot tell.
func (r *Rendered) Locate(step string) (string, bool) {
	name := squash(stepPrefix.ReplaceAllString(strings.TrimSpace(step), ""))
	if name == "" {
		return "", false
	}
	for _, l := range r.Layers {
		for _, s := range l.Steps {
			if squash(s) == name {
				return l.Name, true
			}
		}
	}
	return "", false
}

// locateInError finds the capability an error points at: a line of the
// rendered override (`"PATH" line N`), else a layer's command quoted in
// it.
func (r *Rendered) locateInError(text, dockerfile string) (string, bool) {
	if i := strings.Index(text, strconv.Quote(dockerfile)+" line "); i >= 0 {
		rest := text[i+len(strconv.Quote(dockerfile))+len(" line "):]
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end < 0 {
			end = len(rest)
		}
		if n, err := strconv.Atoi(rest[:end]); err == nil {
			if name := r.layerAt(n); name != "?" {
				return name, true
			}
			if n <= r.BaseLines {
				return "", false
			}
		}
	}
	squashed := squash(text)
	for _, l := range r.Layers {
		for _, s := range l.Steps {
			cmd := squash(s)
			if f := strings.Fields(cmd); len(f) > 1 && strings.EqualFold(f[0], "RUN") {
				cmd = strings.TrimSpace(cmd[len(f[0]):])
			}
			if len(cmd) >= 4 && strings.Contains(squashed, cmd) {
				return l.Name, true
			}
		}
	}
	return "", false
}

// squash joins continuation lines and collapses white space, as drivers
// do when they name a step; the instruction keyword is upper-cased.
func squash(s string) string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	f := strings.Fields(s)
	if len(f) > 0 {
		f[0] = strings.ToUpper(f[0])
	}
	return strings.Join(f, " ")
}
