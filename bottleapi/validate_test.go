package bottleapi

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// requestCase is one entry of testdata/requests.json: a body a bottle
// might send and the part of the error it must get ("" = accepted).
type requestCase struct {
	Case  string          `json:"case"`
	Body  json.RawMessage `json:"body"`
	Error string          `json:"error"`
}

func loadRequestCases(t *testing.T) []requestCase {
	t.Helper()
	data, err := os.ReadFile("testdata/requests.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []requestCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestCreateRequestValidate(t *testing.T) {
	for _, tc := range loadRequestCases(t) {
		t.Run(tc.Case, func(t *testing.T) {
			var c CreateRequest
			if err := json.Unmarshal(tc.Body, &c); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tc.Error == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.Error) {
				t.Fatalf("got %v, want ErrInvalid containing %q", err, tc.Error)
			}
			if strings.ContainsAny(err.Error(), "\n\r\x1b") {
				t.Errorf("the error is not one printable line: %q", err.Error())
			}
		})
	}
}

func TestValidateLimits(t *testing.T) {
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"long name", ValidateName(strings.Repeat("a", MaxNameLen+1)), "129 characters"},
		{"longest name", ValidateName(strings.Repeat("a", MaxNameLen)), ""},
		{"too many commands", ValidateRun(many(MaxRunCommands+1, "true")), "17 run commands"},
		{"long command", ValidateRun([]string{"echo " + strings.Repeat("a", MaxRunLen)}), "bytes long"},
		{"too many packages", ValidatePackages(many(MaxPackages+1, "jq")), "65 packages"},
		{"long package", ValidatePackages([]string{strings.Repeat("a", MaxPackageLen+1)}), "package"},
		{"too many hosts", ValidateHosts(many(MaxHosts+1, "a.com")), "33 hosts"},
		{"long reason", ValidateReason("reason", strings.Repeat("a", MaxReasonLen+1), MaxReasonLen), "1001 bytes"},
		{"bad UTF-8", ValidateReason("reason", "a\xffb", MaxReasonLen), "not valid UTF-8"},
		{"tab is fine", ValidateReason("reason", "a\tb", MaxReasonLen), ""},
		{"good ID", ValidateID("rq-0123456789"), ""},
		{"short ID", ValidateID("rq-012345678"), "not like"},
		{"uppercase ID", ValidateID("rq-ABCDEF0123"), "not like"},
		{"path ID", ValidateID("../rq-0123456789"), "not like"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == "" {
				if tc.err != nil {
					t.Fatalf("refused: %v", tc.err)
				}
				return
			}
			if !errors.Is(tc.err, ErrInvalid) || !strings.Contains(tc.err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalid containing %q", tc.err, tc.want)
			}
		})
	}
}

func TestSuggestionValidate(t *testing.T) {
	ok := Suggestion{Kind: KindCapability, Name: "jq", Tool: "Bash", Command: "jq .x f.json", Error: "Exit code 127\n/bin/bash: line 1: jq: command not found"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("refused: %v", err)
	}
	for name, mutate := range map[string]func(*Suggestion){
		"escape in error":  func(s *Suggestion) { s.Error = "\x1b]0;pwned\x07" },
		"long command":     func(s *Suggestion) { s.Command = strings.Repeat("a", MaxEvidenceLen+1) },
		"newline in tool":  func(s *Suggestion) { s.Tool = "Bash\nx" },
		"bad name":         func(s *Suggestion) { s.Name = "Bad Name" },
		"no tool":          func(s *Suggestion) { s.Tool = "" },
		"unknown kind":     func(s *Suggestion) { s.Kind = "x" },
		"bidi in command":  func(s *Suggestion) { s.Command = "ls \u2066x" },
		"invalid encoding": func(s *Suggestion) { s.Error = "\xc3" },
	} {
		s := ok
		mutate(&s)
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestStates(t *testing.T) {
	final := map[State]bool{StateApplied: true, StateFailed: true, StateDenied: true, StateExpired: true}
	open := map[State]bool{StatePending: true, StateSuggested: true}
	for _, s := range []State{StateSuggested, StatePending, StateApproved, StateApplying, StateApplied, StateFailed, StateDenied, StateExpired} {
		if s.Final() != final[s] || s.Open() != open[s] {
			t.Errorf("%s: Final %v Open %v", s, s.Final(), s.Open())
		}
	}
}
