package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/inbottle"
)

// egressOptions are the flags of the in-bottle `request egress`.
type egressOptions struct {
	reason, wait, format string
}

const requestEgressLong = `Run inside a bottle: asks the operator to let the bottle reach HOST (a host
name or IPv4 address, optionally :PORT; a host alone means ports 80 and 443)
through its proxy, and waits for the decision (default 30m, or
$CLAUDE_BOTTLE_REQUEST_WAIT, or --wait). Approved, the hosts are reachable at
once: nothing is built and nothing restarts.

Exit codes:
  0  approved
  1  error (socket unreachable)
  2  bad input (nothing was asked)
  3  denied (the operator's reason is printed)
  4  timed out (no decision within the wait)`

func (a *app) newRequestEgressCmd() *cobra.Command {
	var o egressOptions
	cmd := &cobra.Command{
		Use:   "egress HOST[:PORT]... --reason TEXT [--wait DURATION]",
		Short: "In a bottle: ask the operator for network access to hosts and wait for the decision",
		Long:  requestEgressLong,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("request egress takes at least one HOST[:PORT]"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRequestEgress(cmd, args, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.reason, "reason", "", "why, in one line (shown to the operator)")
	fl.StringVar(&o.wait, "wait", "", "how long to wait for the decision, like 10m (default $"+inbottle.WaitEnv+" or 30m)")
	fl.StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func (a *app) runRequestEgress(cmd *cobra.Command, hosts []string, o egressOptions) error {
	if err := checkFormat(o.format); err != nil {
		return err
	}
	wait, err := inbottle.DefaultWait()
	if o.wait != "" {
		wait, err = inbottle.ParseWait(o.wait)
	}
	if err != nil {
		return usageErr(err)
	}
	c := inbottle.NewClient("")
	defer c.Close()
	out, err := inbottle.RequestEgress(cmd.Context(), c, inbottle.EgressInput{Hosts: hosts, Reason: o.reason, Wait: wait})
	if errors.Is(err, bottleapi.ErrInvalid) {
		return usageErr(err)
	}
	if err != nil && out.Request.ID == "" {
		return err
	}
	return a.writeOutcome(out, err, o.format)
}
