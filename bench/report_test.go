package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func st(median time.Duration) Stats {
	return Stats{Runs: 5, Min: median - time.Millisecond, Median: median, Max: median + time.Millisecond}
}

// sampleReport has a result for every target, some met and some missed.
func sampleReport() *Report {
	r := &Report{Header: []string{"date: 2026-01-02", "machine: test"}}
	add := func(c, tool, vs string, ours bool, median time.Duration) *Result {
		r.Results = append(r.Results, Result{Case: c, Tool: tool, Vs: vs, Ours: ours, Stats: st(median)})
		return &r.Results[len(r.Results)-1]
	}
	add("small/noop", toolCBLoad, toolBCLoad, true, 70*time.Millisecond).Sent = &Counts{AllBytes: 300, Requests: 3}
	add("small/noop", toolBCLoad, "", false, 160*time.Millisecond)
	add("small/noop", toolCBImage, toolBCImage, true, 80*time.Millisecond)
	add("small/noop", toolBCImage, "", false, 70*time.Millisecond)
	big := add("big/cold", toolCBLoad, toolBCLoad, true, 10*time.Second)
	big.Peak = &Peak{Root: 60 << 20, Child: 200 << 20, Children: 1}
	add("big/cold", toolBCLoad, "", false, 11*time.Second)
	add("plugin/start", toolStart, "", true, 12*time.Millisecond)
	add("plugin/noop", toolPlugin, toolInProcess, true, 70*time.Millisecond).Peak = &Peak{Root: 40 << 20}
	add("plugin/noop", toolInProcess, "", false, 60*time.Millisecond)
	add("engine-small/noop", toolCBDockerBK, toolDockerBK, true, 360*time.Millisecond)
	add("engine-small/noop", toolDockerBK, "", false, 300*time.Millisecond)
	failed := add("engine-small/noop", toolCBDockerLeg, toolDockerLegacy, true, 0)
	failed.Stats, failed.Err = Stats{}, "exit status 1: boom"
	add("engine-small/noop", toolDockerLegacy, "", false, 100*time.Millisecond)
	return r
}

func TestEvaluate(t *testing.T) {
	r := sampleReport()
	r.Evaluate(2)
	got := map[string]Check{}
	for _, c := range r.Checks {
		got[c.Target] = c
	}
	want := []struct {
		prefix       string
		met, skipped bool
	}{
		{"small/noop: " + toolCBLoad + " / " + toolBCLoad + " <= 1.05x", true, false},
		{"small/noop: " + toolCBImage + " / " + toolBCImage + " <= 1.05x", false, false},
		{"small/noop: " + toolCBLoad + " / " + toolBCLoad + " <= 0.50x", true, false},
		{"small/noop: a no-op rebuild", true, false},
		{"big/cold: " + toolCBLoad + " / " + toolBCLoad + " <= 1.05x", true, false},
		{"plugin/start", true, false},
		// No child process: the ratio would compare in-process with itself.
		{"plugin/noop", false, true},
		{"big/*: peak RSS of claude-bottle", true, false},
		{"big/*: peak RSS of its driver plugin", false, false},
		// 360 ms against 300 ms: +60 ms is more than both 5% (15 ms) and 50 ms.
		{"engine-small/noop: " + toolCBDockerBK, false, false},
		{"engine-small/noop: " + toolCBDockerLeg, false, true},
	}
	for _, w := range want {
		var found *Check
		for k, c := range got {
			if strings.HasPrefix(k, w.prefix) {
				found = &c
			}
		}
		if found == nil {
			t.Errorf("no check starting %q; checks: %v", w.prefix, r.Checks)
			continue
		}
		if found.Met != w.met || found.Skipped != w.skipped {
			t.Errorf("%s: met=%v skipped=%v (%s), want met=%v skipped=%v", found.Target, found.Met, found.Skipped, found.Measured, w.met, w.skipped)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "bottles/") {
			t.Errorf("check %q for a case that did not run", k)
		}
	}
}

// TestWriteMarkdown compares the rendering with a golden file; run with
// -update to rewrite it after a deliberate change.
func TestWriteMarkdown(t *testing.T) {
	r := sampleReport()
	r.Evaluate(2)
	r.Notes = []string{"docker buildx peers skipped: none cached"}
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("markdown differs from %s (rerun with -update if deliberate):\n%s", golden, b.String())
	}
	// Every table row has the same number of cells as its header: a tool
	// name holding "|" must not break the table.
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "| small/noop | buildctl") && cells(line) != 8 {
			t.Errorf("row %q has %d cells, want 8", line, cells(line))
		}
	}
}

func cells(row string) int {
	return len(strings.Split(strings.ReplaceAll(row, `\|`, ""), "|")) - 2
}
