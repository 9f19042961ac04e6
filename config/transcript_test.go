package config

import (
	"strings"
	"testing"
)

func TestCheckTranscriptDir(t *testing.T) {
	for _, tc := range []struct {
		dir, want, claudeJSON string
	}{
		{"/home/node/.claude", "", "/home/node/.claude.json"},
		{"/home/node/.claude/", "", "/home/node/.claude.json"},
		{"/root/.claude", "", "/root/.claude.json"},
		{"/home/a/work/.claude", "", "/home/a/.claude.json"},
		{".claude", "absolute path", ""},
		{"/c", "under the agent's home", ""},
		{"/", "under the agent's home", ""},
		{"/root", "under the agent's home", ""},
		{"/home", "under the agent's home", ""},
		{"/home/node", "not the home itself", ""},
		{"/etc/claude", "under the agent's home", ""},
		{"/home/node/../../etc", "without empty, . or .. elements", ""},
		{"/home//node/.claude", "without empty", ""},
		{"/home/node/./.claude", "without empty", ""},
	} {
		err := CheckTranscriptDir(tc.dir)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckTranscriptDir(%q) = %v", tc.dir, err)
			} else if got := ClaudeJSONPath(tc.dir); got != tc.claudeJSON {
				t.Errorf("ClaudeJSONPath(%q) = %q, want %q", tc.dir, got, tc.claudeJSON)
			}
			continue
		}
		if got := ClaudeJSONPath(tc.dir); got != "" {
			t.Errorf("ClaudeJSONPath(%q) = %q for a refused folder", tc.dir, got)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckTranscriptDir(%q) = %v, want one line saying %q", tc.dir, err, tc.want)
		}
	}
}
