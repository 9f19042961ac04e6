package inbottle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// HookInput is what Claude Code sends a PostToolUseFailure hook on stdin
// (code.claude.com/docs/en/hooks, "PostToolUseFailure input": the common
// fields session_id, transcript_path, cwd, permission_mode and
// hook_event_name, then tool_name, tool_input, tool_use_id, error and the
// optional is_interrupt). For the Bash tool, error reads "Exit code N"
// followed by the command's output.
type HookInput struct {
	SessionID      string          `json:"session_id"`
	TranscriptPath string          `json:"transcript_path"`
	Cwd            string          `json:"cwd"`
	PermissionMode string          `json:"permission_mode"`
	HookEventName  string          `json:"hook_event_name"`
	ToolName       string          `json:"tool_name"`
	ToolInput      json.RawMessage `json:"tool_input"`
	ToolUseID      string          `json:"tool_use_id"`
	Error          string          `json:"error"`
	IsInterrupt    bool            `json:"is_interrupt"`
}

// The failures that say a capability is missing, as shells print them.
var (
	// bash "bash: line 1: jq: command not found", dash "sh: 1: jq: not
	// found", busybox "sh: jq: not found".
	notFound = regexp.MustCompile(`(?m)^(?:\S*sh: )?(?:line \d+: |\d+: )?([^\s:]+): (?:command )?not found\s*$`)
	// zsh "zsh: command not found: jq".
	zshNotFound = regexp.MustCompile(`(?m)command not found: (\S+)\s*$`)
	// The shell itself failing to run a file: "bash: line 1:
	// /opt/tool/bin/x: No such file or directory" or "... Permission
	// denied".
	shellExec = regexp.MustCompile(`(?m)^\S*sh: (?:line \d+: |\d+: )?([^\s:]+): (No such file or directory|Permission denied)\s*$`)
	// env failing to find an interpreter: "/usr/bin/env: 'python3': No
	// such file or directory".
	envExec = regexp.MustCompile(`(?m)env: ['‘"]?([^'’":\s]+)['’"]?: No such file or directory`)
	// A package manager run without root.
	pkgDenied  = regexp.MustCompile(`(?i)permission denied|are you root|must be root|requires root|not permitted`)
	pkgInstall = regexp.MustCompile(`(?:^|[;&|]\s*|\s)(?:sudo\s+)?(?:apt-get|apt|apk|dnf|yum|microdnf)\s+(?:-\S+\s+)*(?:install|add)\s+(.*)$`)
	exit127    = regexp.MustCompile(`(?m)^Exit code 127\b`)
)

// Classify decides whether a failed tool call looks like a missing
// capability and, if so, words the suggestion: the missing command (exit
// 127, "command not found", the shell failing to execute a file that is
// absent or not executable) or the packages a package manager could not
// install without root. Anything else, and interrupts, are not
// suggestions.
func Classify(in HookInput) (bottleapi.Suggestion, bool) {
	if in.HookEventName != "PostToolUseFailure" || in.IsInterrupt || in.ToolName != "Bash" {
		return bottleapi.Suggestion{}, false
	}
	var ti struct {
		Command string `json:"command"`
	}
	json.Unmarshal(in.ToolInput, &ti)
	name := missingName(ti.Command, in.Error)
	if name == "" {
		return bottleapi.Suggestion{}, false
	}
	return bottleapi.Suggestion{
		Kind: bottleapi.KindCapability, Name: name, Tool: in.ToolName,
		Command: evidence(ti.Command), Error: evidence(in.Error),
	}, true
}

// missingName finds what is missing, "" when the failure does not look
// like a missing capability.
func missingName(command, errText string) string {
	for _, re := range []*regexp.Regexp{notFound, zshNotFound, envExec} {
		if m := re.FindStringSubmatch(errText); m != nil {
			if n := executableName(m[1]); n != "" {
				return n
			}
		}
	}
	// The shell says the same of a file it could not execute and of one it
	// could not redirect to: only a file the command runs counts.
	for _, m := range shellExec.FindAllStringSubmatch(errText, -1) {
		if slices.Contains(commandWords(command), m[1]) {
			if n := executableName(m[1]); n != "" {
				return n
			}
		}
	}
	if pkgDenied.MatchString(errText) {
		if m := pkgInstall.FindStringSubmatch(firstLine(command)); m != nil {
			for _, arg := range strings.Fields(m[1]) {
				if !strings.HasPrefix(arg, "-") {
					return capabilityName(arg)
				}
			}
		}
	}
	// Exit 127 with no message a pattern knows: the command's own first
	// word, but only for a simple command (in "cd x && foo" the missing one
	// could be either).
	if exit127.MatchString(errText) && !strings.ContainsAny(firstLine(command), ";&|`$()") {
		return executableName(firstWord(command))
	}
	return ""
}

// executableName names a missing executable: a bare name or an absolute
// path's base. A relative path (./build.sh) is the agent's own file, not a
// capability.
func executableName(s string) string {
	switch {
	case s == "" || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../"):
		return ""
	case strings.HasPrefix(s, "/"):
		s = path.Base(s)
	case strings.Contains(s, "/"):
		return ""
	}
	return capabilityName(s)
}

// firstWord returns the command a shell line runs first, past variable
// assignments and sudo.
func firstWord(command string) string {
	for _, w := range strings.Fields(firstLine(command)) {
		if strings.Contains(w, "=") && !strings.HasPrefix(w, "=") || w == "sudo" || w == "env" {
			continue
		}
		return strings.Trim(w, `"'`)
	}
	return ""
}

// commandWords returns the first word of each simple command in a shell
// line (split at ; & | and parentheses).
func commandWords(command string) []string {
	var words []string
	for _, part := range strings.FieldsFunc(command, func(r rune) bool { return strings.ContainsRune(";&|()\n", r) }) {
		if w := firstWord(part); w != "" {
			words = append(words, w)
		}
	}
	return words
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// capabilityName turns a command or package name into a capability name
// (the slug rule): lowercase, '+' spelled "p" (g++ -> gpp), anything else
// not allowed turned into '-'. "" when nothing usable is left.
func capabilityName(s string) string {
	s, _, _ = strings.Cut(strings.ToLower(s), "=")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_':
			b.WriteRune(r)
		case r == '+':
			b.WriteByte('p')
		default:
			b.WriteByte('-')
		}
	}
	n := strings.Trim(b.String(), "-._")
	if bottleapi.ValidateName(n) != nil {
		return ""
	}
	return n
}

// evidence keeps the start of a text for the operator: valid UTF-8, no
// control characters but newlines and tabs, at most MaxEvidenceLen bytes.
func evidence(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r) || r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069):
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	s = strings.TrimSpace(s)
	if len(s) > bottleapi.MaxEvidenceLen {
		s = strings.ToValidUTF8(s[:bottleapi.MaxEvidenceLen-3], "") + "..."
	}
	return s
}

// hookTimeout bounds everything the hook does: it must never hold the
// agent up.
const hookTimeout = 3 * time.Second

// maxHookInput bounds what the hook reads from stdin.
const maxHookInput = 1 << 20

// RunHook reads Claude Code's hook input from stdin and, when the failure
// looks like a missing capability, records it as a suggestion and tells
// the model (on stdout, as additionalContext) that it can ask for the
// capability. It never fails and never blocks for long: every problem (bad
// input, a broken socket) is one line on stderr, and the caller exits 0.
func RunHook(ctx context.Context, c *Client, stdin io.Reader, stdout, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(ctx, hookTimeout)
	defer cancel()
	data, err := io.ReadAll(io.LimitReader(stdin, maxHookInput))
	if err != nil {
		fmt.Fprintf(stderr, "claude-bottle hook: reading the hook input: %v\n", err)
		return
	}
	var in HookInput
	if err := json.Unmarshal(data, &in); err != nil {
		fmt.Fprintf(stderr, "claude-bottle hook: the hook input is not JSON: %v\n", err)
		return
	}
	sug, ok := Classify(in)
	if !ok {
		return
	}
	r, err := c.Suggest(ctx, sug)
	if err != nil {
		fmt.Fprintf(stderr, "claude-bottle hook: could not record the suggestion: %v\n", err)
		return
	}
	out := map[string]any{"hookSpecificOutput": map[string]any{
		"hookEventName": "PostToolUseFailure",
		"additionalContext": fmt.Sprintf("claude-bottle: this looks like a missing capability (%q); the operator was told (suggestion %s). "+
			"If you need it, ask with the request_capability tool (name, packages or run commands, reason) instead of working around it.", r.Name, r.ID),
	}}
	json.NewEncoder(stdout).Encode(out)
}
