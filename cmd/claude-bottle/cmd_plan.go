package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
)

func init() { commands = append(commands, newPlanCmd) }

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
				return usageErr(fmt.Errorf("--format %q: want text or json", o.format))
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
	return a.planWith(cmd, src, slug, s, f, cwd)
}

func writePlan(w io.Writer, p *capability.PlanView, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	case "text", "":
		writeSummary(w, p)
		return nil
	default:
		return usageErr(fmt.Errorf("--format %q: want text or json", format))
	}
}

// exactArgs is cobra.ExactArgs with a message that names what is missing.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr(fmt.Errorf("%s takes %s (got %d arguments); see `%s --help`", cmd.Name(), names, len(args), cmd.CommandPath()))
		}
		return nil
	}
}
