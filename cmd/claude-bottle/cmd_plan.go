package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/pool"
)

// planOptions are the flags of `claude-bottle plan`.
type planOptions struct {
	driverFlags
	cwd    string
	format string
	all    bool
}

func newPlanCmd(a *app) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan SLUG... | --all",
		Short: "Show which Dockerfile and image a bottle runs on (the preflight summary)",
		Long: "Shows each named bottle's plan (or every bottle's with state, with --all): its\n" +
			"Dockerfile, image, capabilities, context and driver. With --format json, one SLUG\n" +
			"prints an object; several, or --all, print an array of them, in the order named.",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPlan(cmd, args, &o)
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVar(&o.cwd, "cwd", "", "the agent's working folder on the host; plans the derived image layered on top")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&o.all, "all", false, "plan every bottle that has state")
	return cmd
}

func (a *app) runPlan(cmd *cobra.Command, args []string, o *planOptions) error {
	switch {
	case o.format != "text" && o.format != "json":
		return badFormat(o.format)
	case o.all && len(args) > 0:
		return usageErr(errors.New("name bottles or pass --all, not both"))
	case !o.all && len(args) == 0:
		return usageErr(fmt.Errorf("plan takes SLUG... or --all; see `%s --help`", cmd.CommandPath()))
	}
	s, err := a.settings(&o.driverFlags)
	if err != nil {
		return err
	}
	plans, err := a.plans(args, o.all, s, o.cwd)
	if err != nil {
		return err
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	name, why, err := a.chooseDriver(cmd.Context(), src, s)
	if err != nil {
		return err
	}
	placed, err := a.placements(cmd.Context(), src, name, plans, s)
	if err != nil {
		return err
	}
	var views []plannedView
	for _, p := range plans {
		p.Driver, p.DriverReason = name, why
		setNetwork(p, s)
		v, err := a.viewPlan(p)
		if err != nil {
			return err
		}
		pv := plannedView{PlanView: v}
		if pl, ok := placed[p.Slug]; ok {
			pv.Builder = &pl
		}
		views = append(views, pv)
	}
	a.noteNoState(plans)
	if o.format == "json" && (o.all || len(views) > 1) {
		return writeJSON(a.io.out, views)
	}
	for i, v := range views {
		if i > 0 && o.format == "text" {
			fmt.Fprintln(a.io.out)
		}
		if err := writePlan(a.io.out, v, o.format); err != nil {
			return err
		}
	}
	return nil
}

// plannedView is a bottle's plan with, on a builder pool, the member its
// build would go to and why.
type plannedView struct {
	*capability.PlanView
	Builder *pool.Placement `json:"builder,omitempty"`
}

// placements places plans on the pool when the chosen driver is one.
func (a *app) placements(ctx context.Context, src driverSource, name string, plans []*bottle.Plan, s config.Settings) (map[string]pool.Placement, error) {
	if len(s.Pool) == 0 || name != poolDriver {
		return nil, nil
	}
	b, err := src.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return batch.Placements(ctx, plans, batch.Options{Builder: b, Cache: s.Cache}), nil
}

func writePlan(w io.Writer, p plannedView, format string) error {
	switch format {
	case "json":
		return writeJSON(w, p)
	case "text", "":
		writeSummary(w, p.PlanView)
		if b := p.Builder; b != nil {
			fmt.Fprintf(w, "builder  %s  (pool member: %s)\n", dash(b.Member), b.Reason)
		}
		return nil
	default:
		return badFormat(format)
	}
}
