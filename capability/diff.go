package capability

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// Show returns the bottle's override as a unified diff against its base:
// what its capabilities add. A bottle with no override, or whose
// override is its base, gives "".
func Show(store *state.Store, slug, repo string) (string, error) {
	b, err := store.Bottle(slug)
	if err != nil {
		return "", err
	}
	cur, err := loadCurrent(b, repo)
	if err != nil || cur.override == nil {
		return "", err
	}
	return unifiedDiff(cur.base.Path, b.FilePath(OverrideFile), cur.base.Data, cur.override), nil
}

// ProposeDiff returns the unified diff that adding c to the bottle would
// make to the Dockerfile it builds (its override, or the repo's
// Dockerfile), rendered on the current base, without writing anything or
// taking the bottle's lock. c is checked as Add checks it; user fills the
// approver when c names none. `request show` prints it.
func ProposeDiff(store *state.Store, p *bottle.Plan, c Capability, user string) (string, error) {
	o := Options{Store: store, Plan: p, User: user}.withDefaults()
	ch := Change{Action: ActionAdd, Capability: c}
	if err := ch.prepare(o); err != nil {
		return "", err
	}
	b, err := store.Bottle(p.Slug)
	if err != nil {
		return "", err
	}
	cur, err := loadCurrent(b, p.Repo)
	if err != nil {
		return "", err
	}
	next, err := cur.change(p.Slug, ch, o.now())
	if err != nil {
		return "", err
	}
	from, fromName := cur.override, b.FilePath(OverrideFile)
	if from == nil {
		from, fromName = cur.base.Data, cur.base.Path
	}
	to := next.override
	if to == nil {
		to = cur.base.Data
	}
	return unifiedDiff(fromName, b.FilePath(OverrideFile), from, to), nil
}

// unifiedDiff renders the change from a to b as a unified diff with one
// hunk: the lines between their common beginning and common end. An
// override only ever adds at the end of its base, so one hunk is exact
// there; for other pairs it is correct if not minimal.
func unifiedDiff(aName, bName string, a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	al, bl := splitLines(string(a)), splitLines(string(b))
	pre := 0
	for pre < len(al) && pre < len(bl) && al[pre] == bl[pre] {
		pre++
	}
	suf := 0
	for suf < len(al)-pre && suf < len(bl)-pre && al[len(al)-1-suf] == bl[len(bl)-1-suf] {
		suf++
	}
	start := max(0, pre-diffContext)
	aEnd, bEnd := len(al)-suf+min(suf, diffContext), len(bl)-suf+min(suf, diffContext)
	var w strings.Builder
	fmt.Fprintf(&w, "--- %s\n+++ %s\n", filepath.ToSlash(aName), filepath.ToSlash(bName))
	fmt.Fprintf(&w, "@@ -%s +%s @@\n", hunkRange(start, aEnd-start), hunkRange(start, bEnd-start))
	for _, l := range al[start:pre] {
		w.WriteString(" " + l)
	}
	for _, l := range al[pre : len(al)-suf] {
		w.WriteString("-" + l)
	}
	for _, l := range bl[pre : len(bl)-suf] {
		w.WriteString("+" + l)
	}
	for _, l := range al[len(al)-suf : aEnd] {
		w.WriteString(" " + l)
	}
	return w.String()
}

// splitLines splits s after each newline; a last line without one is
// marked as diff marks it.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s+"\n\\ No newline at end of file\n")
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// hunkRange renders a hunk's start,count (1-based; an empty range starts
// at the line before it, as diff writes it).
func hunkRange(start, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	if n == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}
