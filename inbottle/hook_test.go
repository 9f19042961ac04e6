package inbottle

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

type hookCase struct {
	Case  string          `json:"case"`
	Want  string          `json:"want"`
	Input json.RawMessage `json:"input"`
}

func loadHookCases(t *testing.T) []hookCase {
	t.Helper()
	data, err := os.ReadFile("testdata/hooks.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []hookCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func TestClassify(t *testing.T) {
	for _, tc := range loadHookCases(t) {
		t.Run(tc.Case, func(t *testing.T) {
			var in HookInput
			if err := json.Unmarshal(tc.Input, &in); err != nil {
				t.Fatal(err)
			}
			sug, ok := Classify(in)
			if tc.Want == "" {
				if ok {
					t.Fatalf("suggested %+v", sug)
				}
				return
			}
			if !ok || sug.Name != tc.Want {
				t.Fatalf("got %q (%v), want %q", sug.Name, ok, tc.Want)
			}
			if err := sug.Validate(); err != nil {
				t.Fatalf("the suggestion would be refused: %v", err)
			}
			if sug.Tool != "Bash" || sug.Error == "" || sug.Command == "" {
				t.Errorf("suggestion %+v", sug)
			}
		})
	}
}

func TestEvidenceIsCleaned(t *testing.T) {
	in := HookInput{HookEventName: "PostToolUseFailure", ToolName: "Bash",
		ToolInput: json.RawMessage(`{"command":"jq \u001b[2J ."}`),
		Error:     "Exit code 127\n\x1b]0;owned\x07bash: jq: command not found\n" + strings.Repeat("x", 5000)}
	sug, ok := Classify(in)
	if !ok {
		t.Fatal("not classified")
	}
	if err := sug.Validate(); err != nil {
		t.Fatalf("cleaned evidence refused: %v", err)
	}
	if len(sug.Error) > bottleapi.MaxEvidenceLen || strings.ContainsRune(sug.Command, 0x1b) {
		t.Errorf("evidence not cleaned: %q", sug.Command)
	}
}

func TestRunHookRecordsASuggestion(t *testing.T) {
	root := newRoot(t)
	h := startHost(t, root, "demo")
	c := NewClient(h.socket)
	defer c.Close()
	var in bytes.Buffer
	for _, tc := range loadHookCases(t) {
		if tc.Case == "bash: command not found" {
			in.Write(tc.Input)
		}
	}
	var out, errOut bytes.Buffer
	RunHook(context.Background(), c, &in, &out, &errOut)
	if errOut.Len() != 0 {
		t.Fatalf("stderr: %s", errOut.String())
	}
	rs, err := h.store.List("demo")
	if err != nil || len(rs) != 1 || rs[0].State != bottleapi.StateSuggested || rs[0].Name != "jq" || rs[0].Origin != "hook" {
		t.Fatalf("stored %v, %v", rs, err)
	}
	var answer struct {
		HookSpecificOutput struct {
			HookEventName     string `json:"hookEventName"`
			AdditionalContext string `json:"additionalContext"`
		} `json:"hookSpecificOutput"`
	}
	if err := json.Unmarshal(out.Bytes(), &answer); err != nil || answer.HookSpecificOutput.HookEventName != "PostToolUseFailure" ||
		!strings.Contains(answer.HookSpecificOutput.AdditionalContext, rs[0].ID) {
		t.Fatalf("stdout %q: %v", out.String(), err)
	}
}

func TestRunHookNeverBlocksOrFails(t *testing.T) {
	payload := `{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"jq"},"error":"bash: jq: command not found"}`
	for _, tc := range []struct {
		name, socket, stdin, wantErr string
	}{
		{"no socket", filepath.Join(t.TempDir(), "absent.sock"), payload, "could not record the suggestion"},
		{"not JSON", filepath.Join(t.TempDir(), "absent.sock"), "{", "not JSON"},
		{"not a suggestion", filepath.Join(t.TempDir(), "absent.sock"), `{"hook_event_name":"Stop"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			start := time.Now()
			RunHook(context.Background(), NewClient(tc.socket), strings.NewReader(tc.stdin), &out, &errOut)
			if time.Since(start) > hookTimeout+time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q", out.String())
			}
			if got := errOut.String(); tc.wantErr == "" && got != "" || !strings.Contains(got, tc.wantErr) || strings.Count(got, "\n") > 1 {
				t.Errorf("stderr %q, want one line containing %q", got, tc.wantErr)
			}
		})
	}
}
