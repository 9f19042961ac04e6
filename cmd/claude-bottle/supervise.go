package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
)

// maxSwapGrace bounds --swap-grace: the old bottle runs on while it lasts.
const maxSwapGrace = 10 * time.Minute

// supervisor takes the bottle's run lock before anything is built, and
// returns the supervisor that runs and swaps it; nil, with no error, for
// --attach to a bottle another launch runs (that launch supervises it).
func (a *app) supervisor(s config.Settings, p *bottle.Plan, o *launchOptions) (*launch.Supervisor, error) {
	so, err := superviseOptions(s, o)
	if err != nil {
		return nil, err
	}
	sv, err := launch.NewSupervisor(p.State, so)
	if errors.Is(err, launch.ErrAlreadyRunning) && o.attach {
		return nil, nil
	}
	return sv, err
}

// superviseOptions reads --resume-command (over launch.resume_command)
// and --swap-grace.
func superviseOptions(s config.Settings, o *launchOptions) (launch.SuperviseOptions, error) {
	so := launch.SuperviseOptions{ResumeCommand: s.ResumeCommand, SwapGrace: o.swapGrace}
	if o.resumeCommand != "" {
		so.ResumeCommand = o.resumeCommand
	}
	if o.resumeCommand != "" && strings.TrimSpace(o.resumeCommand) == "" {
		return so, usageErr(fmt.Errorf("--resume-command is blank: give a shell command such as %q", launch.DefaultResumeCommand))
	}
	if o.swapGrace < 0 || o.swapGrace > maxSwapGrace {
		return so, usageErr(fmt.Errorf("--swap-grace %s: want a duration from 0 to %s, such as 1s", o.swapGrace, maxSwapGrace))
	}
	if o.swapGrace == 0 {
		so.SwapGrace = -1 // none; the library's 0 is its default
	}
	return so, nil
}

// resumeHint says, when the bottle's image changed after its last run
// (a request approved while it was not running), that --resume continues
// the agent's session.
func (a *app) resumeHint(p *bottle.Plan) {
	rs, err := a.requests()
	if err != nil {
		return
	}
	if h := launch.ResumeHint(rs, p.State); h != "" {
		fmt.Fprintln(a.io.err, h)
	}
}
