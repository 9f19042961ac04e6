//go:build linux

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The transcript suite: what an agent leaves in its state folder is
// copied out within limits, and what --resume copies back in is its
// session data only. Run it alone on the shared engine:
//
//	flock /tmp/cb-engine.lock go test -count=1 -run TestTranscript ./integration/

// transcriptBound is how long one launch of a bomb may take, start to
// end, on a loaded engine: the refusal itself is at the first header
// over a limit.
const transcriptBound = 90 * time.Second

// transcriptBottle is a bottle for a transcript scenario: its own state
// root whose config.toml lowers max_entries (file creation on the
// engine's fuse-overlayfs costs milliseconds each, so 10⁶ files in the
// container are out of reach; state's TestTranscriptMillionFiles streams
// them), and an image built once, with /home/node/.claude in it.
type transcriptBottle struct {
	c          *fcli
	slug, repo string
	dir        string // the bottle's transcript/ in the state root
}

func newTranscriptBottle(t *testing.T, prefix string) *transcriptBottle {
	t.Helper()
	testenv.RequireDocker(t)
	tb := &transcriptBottle{c: newFCLI(t), slug: faultSlug(t, prefix), repo: faultRepo(t, nil)}
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+tb.slug) })
	tb.c.setOverride(tb.slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
	cfg := "[transcript]\nmax_entries = 300\ntimeout = \"60s\"\n"
	if err := os.WriteFile(filepath.Join(tb.c.home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	tb.dir = filepath.Join(tb.c.home, "state", tb.slug, "transcript")
	tb.c.must(0, "launch", tb.slug, "--repo", tb.repo, "--driver", "buildkit", "--progress", "quiet", "--",
		"sh", "-c", "mkdir -p /home/node/.claude/projects && echo good > /home/node/.claude/projects/s.jsonl")
	return tb
}

// launchArgs runs the built image with the agent's script.
func (tb *transcriptBottle) launchArgs(script string, flags ...string) []string {
	args := append([]string{"launch", tb.slug, "--repo", tb.repo, "--driver", "buildkit", "--no-build"}, flags...)
	return append(args, "--", "sh", "-c", script)
}

// noLeftovers fails if a half-written snapshot or the bottle's container
// is left.
func (tb *transcriptBottle) noLeftovers(t *testing.T) {
	t.Helper()
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(tb.dir), ".transcript-*")); len(m) != 0 {
		t.Errorf("half-written snapshots left: %v", m)
	}
	if left := testenv.Containers(t, "dev.claude-bottle.slug="+tb.slug); len(left) != 0 {
		t.Errorf("containers left: %v", left)
	}
}

// TestTranscriptBombs: an agent that leaves a sparse 1 TB file, more
// entries than the limit, a path deeper than the limit, a link out of
// its folder, or its folder replaced by a link gets its snapshot refused
// in bounded time: exit 2, one line saying why, the old snapshot whole
// and nothing left behind.
func TestTranscriptBombs(t *testing.T) {
	tb := newTranscriptBottle(t, "trbomb")
	before := treeDigest(t, tb.dir)
	if !strings.Contains(before, "s.jsonl") {
		t.Fatalf("the first snapshot lacks the session:\n%s", before)
	}
	deep := "/home/node/.claude" + strings.Repeat("/d", 70)
	for _, bomb := range []struct{ name, script, want string }{
		{"sparse 1 TB file", "truncate -s 1099511627776 /home/node/.claude/sparse && ls -ls /home/node/.claude/sparse", "1.0 TiB, which takes the snapshot over its 2.0 GiB limit"},
		{"too many files", "mkdir /home/node/.claude/many && cd /home/node/.claude/many && i=0; while [ $i -lt 400 ]; do : > f$i; i=$((i+1)); done", "more than 300 entries"},
		{"deep path", "mkdir -p " + deep, "folders deep, over the limit of 64"},
		{"link out", "ln -s /etc/passwd /home/node/.claude/pw", `link pw points outside the folder, to "/etc/passwd"`},
		{"relative link out", "ln -s ../../../etc /home/node/.claude/up", "points outside the folder"},
		{"folder is a link", "rm -rf /home/node/.claude && ln -s / /home/node/.claude", "is not a folder"},
	} {
		t.Run(bomb.name, func(t *testing.T) {
			scenario(t)
			start := time.Now()
			res := tb.c.run(2*transcriptBound, tb.launchArgs(bomb.script)...)
			took := time.Since(start)
			line := errorLine(res.Stderr)
			t.Logf("exit %d after %v: %s", res.ExitCode, took.Round(time.Millisecond), line)
			if res.ExitCode != 2 || !strings.Contains(line, "transcript not saved (the previous snapshot is kept)") || !strings.Contains(line, bomb.want) {
				t.Errorf("exit %d, error line %q; want exit 2 saying %q\nstderr:\n%s", res.ExitCode, line, bomb.want, res.Stderr)
			}
			if took > transcriptBound {
				t.Errorf("the refused launch took %v, over %v", took, transcriptBound)
			}
			if after := treeDigest(t, tb.dir); after != before {
				t.Errorf("the refused snapshot changed the old one:\n%s\nwas\n%s", after, before)
			}
			tb.noLeftovers(t)
		})
	}
	tb.c.noLeaks(5 * time.Second)
}

// TestTranscriptInterruptKeepsOld: the first SIGINT while a snapshot is
// being copied (a 1.9 GB file, under the limit, copied for seconds) stops
// the copy: exit 130, the old snapshot whole, no half-written snapshot and
// no container left.
func TestTranscriptInterruptKeepsOld(t *testing.T) {
	scenario(t)
	tb := newTranscriptBottle(t, "trsig")
	before := treeDigest(t, tb.dir)
	p := tb.c.start(tb.launchArgs("truncate -s 1900M /home/node/.claude/big && echo agent-done")...)
	p.waitOut(transcriptBound, "agent-done")
	if !waitCopying(filepath.Dir(tb.dir), transcriptBound) {
		t.Fatalf("no copy in progress seen; the launch said:\n%s", p.stderr())
	}
	sent := time.Now()
	p.signal(syscall.SIGINT)
	code, at := p.wait(2 * signalBound)
	t.Logf("exit %d %v after SIGINT: %s", code, at.Sub(sent).Round(time.Millisecond), errorLine(p.stderr()))
	if code != 130 || at.Sub(sent) > signalBound {
		t.Errorf("exit %d %v after SIGINT, want 130 within %v\nstderr:\n%s", code, at.Sub(sent), signalBound, p.stderr())
	}
	wantContains(t, "interrupted snapshot", errorLine(p.stderr()), "transcript not saved (the previous snapshot is kept)")
	wantContains(t, "interrupted snapshot", errorLine(p.stderr()), "copy stopped: interrupted by interrupt")
	if after := treeDigest(t, tb.dir); after != before {
		t.Errorf("the interrupted snapshot changed the old one:\n%s\nwas\n%s", after, before)
	}
	tb.noLeftovers(t)
	tb.c.noLeaks(5 * time.Second)
}

// waitCopying waits until a half-written snapshot under dir holds some of
// the big file: the copy is under way.
func waitCopying(dir string, limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(dir, ".transcript-new-*", "big"))
		for _, f := range m {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
				return true
			}
		}
	}
	return false
}

// sessionBytes is a session file with bytes a text-mode copy would break.
const sessionBytes = "{\"type\":\"user\"}\n\000\377\r\n{\"type\":\"assistant\"}\n"

// TestTranscriptResume: a session file and ~/.claude.json come back byte
// for byte on --resume; the agent's settings.json, hooks, commands and
// agents come back only with --resume-settings.
func TestTranscriptResume(t *testing.T) {
	scenario(t)
	tb := newTranscriptBottle(t, "trresume")
	claudeJSON := `{"oauthAccount":{"emailAddress":"agent@example.test"},"projects":{"/w":{"allowedTools":[]}}}`
	write := `set -e; cd /home/node/.claude; mkdir -p projects/-w hooks commands agents
printf '{"type":"user"}\n\000\377\r\n{"type":"assistant"}\n' > projects/-w/s.jsonl
printf '%s' '` + claudeJSON + `' > /home/node/.claude.json
echo '{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"evil"}]}]}}' > settings.json
echo evil > hooks/h.sh; echo c > commands/c.md; echo a > agents/a.md; echo h > history.jsonl`
	tb.c.must(0, tb.launchArgs(write)...)
	show := `cd /home/node/.claude; sha256sum projects/-w/s.jsonl /home/node/.claude.json history.jsonl
for f in settings.json hooks/h.sh commands/c.md agents/a.md; do [ -e $f ] && echo present:$f; done; true`
	want := []string{hexSum(sessionBytes) + "  projects/-w/s.jsonl", hexSum(claudeJSON) + "  /home/node/.claude.json", hexSum("h\n") + "  history.jsonl"}
	settings := []string{"present:settings.json", "present:hooks/h.sh", "present:commands/c.md", "present:agents/a.md"}

	withSettings := tb.c.must(0, tb.launchArgs(show, "--resume", "--resume-settings")...)
	for _, line := range append(want, settings...) {
		if !containsLine(withSettings.Stdout, line) {
			t.Errorf("--resume --resume-settings: the bottle lacks %q:\n%s", line, withSettings.Stdout)
		}
	}
	sessionOnly := tb.c.must(0, tb.launchArgs(show, "--resume")...)
	for _, line := range want {
		if !containsLine(sessionOnly.Stdout, line) {
			t.Errorf("--resume: the bottle lacks %q:\n%s", line, sessionOnly.Stdout)
		}
	}
	for _, line := range settings {
		if containsLine(sessionOnly.Stdout, line) {
			t.Errorf("--resume without --resume-settings restored %s", strings.TrimPrefix(line, "present:"))
		}
	}
	tb.noLeftovers(t)
}

func hexSum(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestTranscriptDeadline: a copy that outlasts transcript.timeout (1 s
// here, for a 1.9 GB file under the size limit) is stopped at the
// deadline: exit 2, one line saying so, the old snapshot whole, nothing
// left.
func TestTranscriptDeadline(t *testing.T) {
	scenario(t)
	tb := newTranscriptBottle(t, "trdeadline")
	cfg := "[transcript]\ntimeout = \"1s\"\n"
	if err := os.WriteFile(filepath.Join(tb.c.home, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	before := treeDigest(t, tb.dir)
	start := time.Now()
	res := tb.c.run(transcriptBound, tb.launchArgs("truncate -s 1900M /home/node/.claude/big")...)
	line := errorLine(res.Stderr)
	t.Logf("exit %d after %v: %s", res.ExitCode, time.Since(start).Round(time.Millisecond), line)
	if res.ExitCode != 2 || !strings.Contains(line, "transcript not saved (the previous snapshot is kept)") || !strings.Contains(line, "the copy took longer than 1s (transcript.timeout in config.toml)") {
		t.Errorf("exit %d; want the deadline named\nstderr:\n%s", res.ExitCode, res.Stderr)
	}
	if after := treeDigest(t, tb.dir); after != before {
		t.Errorf("the stopped snapshot changed the old one:\n%s\nwas\n%s", after, before)
	}
	tb.noLeftovers(t)
}
