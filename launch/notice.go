package launch

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
)

// terminalWriter serialises the bottle's output and the supervisor's
// notices on one writer, so that a notice never lands inside an escape
// sequence of the agent's screen.
type terminalWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

// Write writes p whole.
func (t terminalWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w.Write(p)
}

// notices writes the supervisor's one-line notices on the launch's
// stderr. In raw mode (a TTY bottle) a newline does not return the
// carriage, so a notice starts and ends with CR LF of its own.
type notices struct {
	mu  *sync.Mutex
	w   io.Writer
	raw bool
}

// say writes one line.
func (n notices) say(format string, args ...any) {
	if n.w == nil {
		return
	}
	line := "claude-bottle: " + fmt.Sprintf(format, args...)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.raw {
		io.WriteString(n.w, "\r\n"+line+"\r\n")
	} else {
		io.WriteString(n.w, line+"\n")
	}
}

// arrived is the line for a request that just arrived: which bottle, what
// it asks for, and the command that approves it.
func arrived(r *request.Request) string {
	verb := "asks for"
	if r.State == bottleapi.StateSuggested {
		verb = "may need (a suggestion from a failed command)"
	}
	return fmt.Sprintf("bottle %s %s %s %s%s; approve: claude-bottle request approve %s",
		r.Slug, verb, r.Kind, clean(r.Name, 40), asked(r), r.ID)
}

// asked summarises what a request would add, for its one line.
func asked(r *request.Request) string {
	run, pkgs := r.Instructions()
	switch {
	case len(run) > 0:
		return " (run: " + clean(strings.Join(run, "; "), 60) + ")"
	case len(pkgs) > 0:
		return " (packages: " + clean(strings.Join(pkgs, " "), 60) + ")"
	case len(r.Hosts) > 0:
		return " (hosts: " + clean(strings.Join(r.Hosts, " "), 60) + ")"
	}
	return ""
}

// clean makes text from a bottle safe for the operator's terminal: control
// characters (escape sequences, newlines) become spaces, and it is cut to
// n runes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	if rs := []rune(s); len(rs) > n {
		s = string(rs[:n-1]) + "…"
	}
	return s
}

// firstLine is the first line of an error, for a notice.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return clean(line, 200)
}
