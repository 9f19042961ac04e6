package main

import (
	"strings"
	"testing"
)

// TestLaunchRefusesTranscriptFlags: a state folder outside the agent's
// home, or --resume-settings alone, is refused before anything is planned
// or built: exit 2, one line.
func TestLaunchRefusesTranscriptFlags(t *testing.T) {
	f := newCLIFixture(t)
	base := []string{"launch", "demo", "--repo", f.repo, "--driver", "buildkit", "--no-build"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--transcript-dir", "/etc"}, `--transcript-dir "/etc" must be a folder under the agent's home`},
		{[]string{"--transcript-dir", "/home/node"}, "not the home itself"},
		{[]string{"--transcript-dir", "/"}, "under the agent's home"},
		{[]string{"--transcript-dir", "rel/.claude"}, "absolute path"},
		{[]string{"--transcript-dir", "/home/node/../../etc"}, ".. elements"},
		{[]string{"--resume-settings"}, "--resume-settings only goes with --resume"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			before := cliTree(t, f.home)
			r := f.run("", append(base, tc.args...)...)
			if r.code != exitUsage || !strings.Contains(r.errOut, tc.want) || strings.Count(r.errOut, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line saying %q", r.code, r.errOut, tc.want)
			}
			if after := cliTree(t, f.home); after != before {
				t.Errorf("the refused launch changed the state root:\n%s\nwas\n%s", after, before)
			}
		})
	}
}
