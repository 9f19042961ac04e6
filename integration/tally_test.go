package integration

import (
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// The faults suite (faults_*_test.go, badinput_*_test.go) counts its
// scenarios here, so that CI can print one line about them. TestMain
// prints it after m.Run with printTally.
var tally struct {
	mu                           sync.Mutex
	run, passed, failed, skipped int
}

// scenario counts t as one scenario of the faults suite. Call it first in
// the scenario, so that its outcome is read after every other cleanup (a
// leak found by a cleanup fails the scenario).
func scenario(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		tally.mu.Lock()
		defer tally.mu.Unlock()
		tally.run++
		switch {
		case t.Failed():
			tally.failed++
		case t.Skipped():
			tally.skipped++
		default:
			tally.passed++
		}
	})
}

// tallyLine is the one-line summary of the faults suite.
func tallyLine() string {
	tally.mu.Lock()
	defer tally.mu.Unlock()
	return fmt.Sprintf("faults: %d scenarios run, %d passed, %d failed, %d skipped",
		tally.run, tally.passed, tally.failed, tally.skipped)
}

// printTally writes the tally line to w, and appends it to the file named
// by $CB_TALLY_FILE when set: `go test` shows a passing package's output
// only with -v, so a CI job that runs without -v prints that file.
func printTally(w io.Writer) {
	line := tallyLine()
	fmt.Fprintln(w, line)
	if p := os.Getenv("CB_TALLY_FILE"); p != "" {
		if f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

// knownBug skips the rest of t: it checks something claude-bottle gets
// wrong, reported to the lead with evidence and a proposed fix. Remove the
// call once the fix lands. The tally counts the scenario as skipped.
// CB_RUN_KNOWN_BUGS=1 runs the checks anyway, to see them fail or pass.
func knownBug(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CB_RUN_KNOWN_BUGS") == "1" {
		t.Logf("known bug, checked anyway: %s", what)
		return
	}
	t.Skip("BUG: " + what)
}
