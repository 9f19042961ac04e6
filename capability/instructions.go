package capability

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxInstructions bounds a layer capability's instructions.
const MaxInstructions = 64 << 10

// endSentinel follows a capability's instructions when they are checked:
// it must parse as an instruction of its own on its own line, or the
// instructions ran on into what follows them (a trailing continuation, an
// unterminated heredoc) and would swallow the next line of the override.
const endSentinel = "LABEL dev.claude-bottle.end=1"

// checkInstructions checks a layer's instructions on their own and
// returns them normalised (LF line ends, no leading or trailing blank
// lines) with their parse. They must parse as instructions of a stage,
// hold no FROM, and end where they end.
func checkInstructions(name, text string) (string, error) {
	norm := normalizeInstructions(text)
	switch {
	case norm == "":
		return "", fmt.Errorf("%w: capability %q has no instructions; give --run, --file or --package", ErrInvalid, name)
	case len(norm) > MaxInstructions:
		return "", fmt.Errorf("%w: the instructions of capability %q are %d bytes, more than %d; is it the right file?", ErrInvalid, name, len(norm), MaxInstructions)
	case strings.IndexByte(norm, 0) >= 0 || !utf8.ValidString(norm):
		return "", fmt.Errorf("%w: the instructions of capability %q are not text (NUL or invalid UTF-8); is it the right file?", ErrInvalid, name)
	}
	combined := "FROM scratch\n" + norm + "\n" + endSentinel + "\n"
	p, err := parseDockerfile(fmt.Sprintf("the instructions of capability %q (checked after a FROM line, so their line 1 is line 2 here)", name), []byte(combined))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	own := p.instrs[1:]
	last := own[len(own)-1]
	sentinelLine := strings.Count(combined, "\n")
	if last.source != endSentinel || last.line != sentinelLine {
		return "", fmt.Errorf("%w: the last instruction of capability %q runs on past its end (a trailing continuation character, or a heredoc without its end marker); end it", ErrInvalid, name)
	}
	own = own[:len(own)-1]
	if len(own) == 0 {
		return "", fmt.Errorf("%w: capability %q has only comments, no instructions", ErrInvalid, name)
	}
	for _, in := range own {
		if in.cmd == "FROM" {
			return "", fmt.Errorf("%w: capability %q holds a FROM (its line %d): a capability adds to the bottle's final stage and cannot start another; put stages in the base Dockerfile", ErrInvalid, name, in.line-1)
		}
	}
	return norm, nil
}

// CheckInstructions checks a layer capability's instructions on their
// own, as Add will: they parse, hold no FROM and end where they end. It
// lets a caller refuse bad input before it opens a driver.
func CheckInstructions(name, text string) error {
	_, err := checkInstructions(name, text)
	return err
}

// normalizeInstructions makes line ends LF and drops leading and trailing
// blank lines and trailing spaces.
func normalizeInstructions(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// RunInstructions turns --run commands into RUN instructions, one a line.
// A command must be one line: a line break would start an instruction of
// its own.
func RunInstructions(cmds []string) (string, error) {
	var b bytes.Buffer
	for _, c := range cmds {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
			return "", fmt.Errorf("%w: --run needs a command", ErrInvalid)
		case strings.ContainsFunc(c, isControl):
			return "", fmt.Errorf("%w: --run %q holds a line break or control character; give one command line per --run, or use --file", ErrInvalid, truncate(c, 40))
		}
		b.WriteString("RUN " + c + "\n")
	}
	return b.String(), nil
}
