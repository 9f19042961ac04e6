// Package termsafe makes text that another program wrote (an engine's
// error, a plugin's log line or note) safe to print on the user's
// terminal: escape sequences in it could retitle the window, clear the
// screen, move the cursor over earlier output or, on some terminals, do
// worse.
package termsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text returns s with every control character but newline and tab (C0,
// DEL, the C1 range, and bytes that are not UTF-8) written out as a
// visible escape such as \x1b, so that it prints as text and does
// nothing. Text without control characters is returned as it is.
func Text(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r):
			if r < 0x100 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Lines is Text for each of lines.
func Lines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = Text(l)
	}
	return out
}

func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return cleanRunes(s)
		}
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func cleanRunes(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafe(r) {
			return false
		}
	}
	return true
}

// unsafe reports whether r is a control character a terminal may act on:
// C0 but newline and tab, DEL, C1, and the line and paragraph separators.
func unsafe(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	}
	return false
}
