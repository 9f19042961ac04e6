package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what one contender measured in one case.
type Result struct {
	// Case names the case ("small/noop"), Tool the contender.
	Case, Tool string
	// Ours marks claude-bottle's contenders; Vs names the peer (a Tool of
	// the same case) that its ratio is taken against.
	Ours bool
	Vs   string
	// Stats summarise the counted runs.
	Stats Stats
	// Err says why the contender failed; its Stats are then partial.
	Err string
	// Notes are extra measurements of this contender (peak RSS, bytes).
	Notes []string
	// Peak is its process tree's peak RSS, when measured.
	Peak *Peak
	// Sent is what one more no-op run sent the engine, when counted.
	Sent *Counts
}

// Check is one performance target evaluated on a run.
type Check struct {
	// Target says what is wanted, Measured what was found.
	Target, Measured string
	// Met is whether the target holds; Skipped when it could not be
	// evaluated (a case filtered out or failed), with the reason in Measured.
	Met, Skipped bool
}

// Report is one bench run: where and when it ran, and what it found.
type Report struct {
	// Header lines describe the machine, the date, the versions and the
	// conditions of the run.
	Header  []string
	Results []Result
	Checks  []Check
	// Notes are remarks on the run (a peer skipped and why).
	Notes []string
}

// find returns the result of tool in case c.
func (r *Report) find(c, tool string) (Result, bool) {
	for _, res := range r.Results {
		if res.Case == c && res.Tool == tool {
			return res, true
		}
	}
	return Result{}, false
}

// ratioCell is the ours/peer column of res: the ratio of medians and the
// peer it is taken against.
func (r *Report) ratioCell(res Result) string {
	if res.Vs == "" {
		return ""
	}
	peer, ok := r.find(res.Case, res.Vs)
	if !ok || peer.Err != "" || res.Err != "" || peer.Stats.Runs == 0 || res.Stats.Runs == 0 {
		return "n/a vs " + escape(res.Vs)
	}
	return fmt.Sprintf("%.2fx vs %s", Ratio(res.Stats, peer.Stats), escape(res.Vs))
}

// WriteMarkdown writes the report as markdown: the header as a list, the
// results table, the targets table and the notes.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	for _, h := range r.Header {
		fmt.Fprintf(&b, "- %s\n", h)
	}
	b.WriteString("\n| case | tool | runs | min s | median s | max s | ours/peer (medians) | notes |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---|---|\n")
	for _, res := range r.Results {
		name := escape(res.Tool)
		if res.Ours {
			name = "**" + name + "**"
		}
		notes := strings.Join(res.Notes, "; ")
		if res.Err != "" {
			notes = strings.TrimPrefix(notes+"; FAILED: "+res.Err, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s | %s |\n", res.Case, name, res.Stats.Runs,
			cell(res.Stats, res.Stats.Min), cell(res.Stats, res.Stats.Median), cell(res.Stats, res.Stats.Max),
			r.ratioCell(res), escape(notes))
	}
	if len(r.Checks) > 0 {
		b.WriteString("\n| target | measured | met |\n|---|---|---|\n")
		for _, c := range r.Checks {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", escape(c.Target), escape(c.Measured), verdict(c))
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(s Stats, d time.Duration) string {
	if s.Runs == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", d.Seconds())
}

func verdict(c Check) string {
	switch {
	case c.Skipped:
		return "not measured"
	case c.Met:
		return "yes"
	}
	return "**no**"
}

// escape keeps a cell's text from breaking the markdown table.
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
