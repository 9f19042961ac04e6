package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
)

// planOptions are the flags of `claude-bottle plan`.
type planOptions struct {
	driverFlags
	cwd    string
	format string
}

func newPlanCmd(a *app) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan SLUG",
		Short: "Show which Dockerfile and image a bottle runs on (the preflight summary)",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "text" && o.format != "json" {
				return badFormat(o.format)
			}
			p, err := a.plan(cmd, args[0], &o.driverFlags, o.cwd)
			if err != nil {
				return err
			}
			v, err := a.viewPlan(p)
			if err != nil {
				return err
			}
			return writePlan(a.io.out, v, o.format)
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&o.cwd, "cwd", "", "the agent's working folder on the host; plans the derived image layered on top")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

// plan resolves a bottle's plan, choosing the driver as build would.
func (a *app) plan(cmd *cobra.Command, slug string, f *driverFlags, cwd string) (*bottle.Plan, error) {
	s, err := a.settings(f)
	if err != nil {
		return nil, err
	}
	src, err := a.drivers(s)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return a.planWith(cmd.Context(), src, slug, s, cwd)
}

func writePlan(w io.Writer, p *capability.PlanView, format string) error {
	switch format {
	case "json":
		return writeJSON(w, p)
	case "text", "":
		writeSummary(w, p)
		return nil
	default:
		return badFormat(format)
	}
}
