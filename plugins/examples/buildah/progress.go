package main

import (
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/plugins/sdk/clirun"
)

// output turns buildah's output into progress: "STEP n/N: X" starts a step,
// "--> Using cache ID" marks it cached, "--> ID" (or the next step)
// completes it, COMMIT starts the commit step; every other line is a log
// line of the step in progress. The last line is kept for the error
// message; the others are in the progress the user already saw.
type output struct {
	steps *clirun.Steps
	last  *clirun.Tail
}

var stepRE = regexp.MustCompile(`^STEP (\d+)/(\d+): (.*)$`)

func newOutput(steps *clirun.Steps) *output {
	return &output{steps: steps, last: clirun.NewTail(1)}
}

// line handles one line of buildah's output; stream is 1 (stdout) or 2.
func (o *output) line(stream int, line string) {
	o.last.Add(line)
	if stream == 1 {
		switch m := stepRE.FindStringSubmatch(line); {
		case m != nil:
			o.steps.Start("step-"+m[1], "["+m[1]+"/"+m[2]+"] "+m[3])
			return
		case strings.HasPrefix(line, "--> Using cache "):
			o.steps.Cached()
			return
		case strings.HasPrefix(line, "--> "):
			o.steps.Complete()
			return
		case strings.HasPrefix(line, "COMMIT "):
			o.steps.Start("commit", "exporting: "+line)
			return
		}
	}
	o.steps.Log(stream, line)
}

// lastLine is buildah's last line of output, or "".
func (o *output) lastLine() string {
	if l := o.last.Lines(); len(l) > 0 {
		return l[0]
	}
	return ""
}
