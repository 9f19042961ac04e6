package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/overview"
)

// psOptions are the flags of `claude-bottle ps`.
type psOptions struct {
	driverFlags
	format string
}

func newPsCmd(a *app) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:   "ps [--format table|json]",
		Short: "Every bottle at a glance: status, image, drift, capabilities, requests, transcript, cwd, uptime",
		Long: "One row a bottle (every bottle with state or a container): running, stopped, building or\n" +
			"waiting for approval; its image (base or rebuilt, ID, age); whether its override is stale;\n" +
			"its capabilities and pending requests; its transcript snapshot; its cwd and uptime.\n" +
			"--format json prints the rows the dashboard serves at /api/bottles.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.format != "table" && o.format != "json" {
				return usageErr(fmt.Errorf("--format %q: want table or json", o.format))
			}
			opts, closeEngine, err := a.overviewOptions(&o.driverFlags)
			if err != nil {
				return err
			}
			defer closeEngine()
			rows, err := overview.List(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if o.format == "json" {
				return writeJSON(a.io.out, rows)
			}
			return writeRows(a.io.out, rows, time.Now())
		},
	}
	o.driverFlags.bind(cmd)
	cmd.Flags().StringVar(&o.format, "format", "table", "output format: table or json")
	return cmd
}

// overviewOptions opens what the overview reads: the state root, the
// engine, and the repo the bottles' plans are resolved with.
func (a *app) overviewOptions(f *driverFlags) (overview.Options, func(), error) {
	s, err := a.settings(f)
	if err != nil {
		return overview.Options{}, nil, err
	}
	store, err := a.store()
	if err != nil {
		return overview.Options{}, nil, err
	}
	cli, err := launch.Connect(s.DriverConfig.DockerHost)
	if err != nil {
		return overview.Options{}, nil, err
	}
	return overview.Options{Store: store, Engine: overview.NewEngine(cli), Repo: s.Repo, RepoFrom: s.RepoFrom}, func() { cli.Close() }, nil
}

// writeRows prints the rows as a table, ages and uptimes as of now.
func writeRows(w io.Writer, rows []overview.Row, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tSTATUS\tIMAGE\tID\tAGE\tDRIFT\tCAPS\tPENDING\tTRANSCRIPT\tCWD\tUPTIME")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n",
			r.Slug, r.Status, r.Image.Kind, dash(r.Image.ShortID()), ageOf(r.Image.Age(now), r.Image.ID != ""),
			drift(r.Drift), r.Capabilities, r.Pending, transcript(r), dash(r.Cwd), ageOf(r.Uptime(now), r.Container.Running()))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		for _, p := range r.Problems {
			fmt.Fprintf(w, "bottle %s: %s\n", r.Slug, oneLine(p))
		}
	}
	return nil
}

func drift(d overview.Drift) string {
	switch {
	case d.Stale:
		return "stale"
	case d.NeedsBuild:
		return "needs build"
	}
	return "-"
}

func transcript(r overview.Row) string {
	if r.Transcript == nil {
		return "-"
	}
	return r.Transcript.Taken.Local().Format("2006-01-02 15:04") + " " + humanBytes(r.Transcript.Bytes)
}

// ageOf renders a duration as its largest unit: 45s, 12m, 3h, 2d; "-"
// when there is none.
func ageOf(d time.Duration, ok bool) string {
	switch {
	case !ok:
		return "-"
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
