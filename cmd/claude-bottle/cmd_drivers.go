package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/termsafe"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// driversOptions are the flags of `claude-bottle drivers`.
type driversOptions struct {
	format string
	flags  driverFlags
}

func newDriversCmd(a *app) *cobra.Command {
	o := &driversOptions{}
	cmd := &cobra.Command{
		Use:   "drivers",
		Short: "List the build drivers (built-in and plugins) and whether each can build here now",
		Long: `List every build driver: the built-in ones, plugins installed with
'claude-bottle plugin install', and claude-bottle-driver-NAME executables on
$PATH (usable with --driver NAME, never picked by default, and unverified).
Each built-in and installed driver is started and checked (a few seconds at
most, all in parallel); the one a build would use when no driver is named
is marked as the default. A plugin on $PATH is listed without being run:
name it with --driver NAME to check it.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDrivers(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	o.flags.bind(cmd)
	_ = cmd.Flags().MarkHidden("repo") // no repo is involved in listing drivers
	cmd.Flags().Lookup("driver").Usage = "list only this driver"
	return cmd
}

// driverView is one driver as `drivers --format json` prints it.
type driverView struct {
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	Path       string   `json:"path"`
	BuiltIn    bool     `json:"built_in"`
	Verified   bool     `json:"verified"`
	Version    string   `json:"version,omitempty"`
	Protocol   int      `json:"protocol,omitempty"`
	Features   []string `json:"features"`
	Endpoint   string   `json:"endpoint,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	Priority   *int     `json:"priority,omitempty"`
	Ready      bool     `json:"ready"`
	Default    bool     `json:"default"`
	Error      string   `json:"error,omitempty"`
	CheckError string   `json:"check_error,omitempty"`
	// Pool lists the members of a BuildKit pool and their health.
	Pool   []memberView `json:"pool,omitempty"`
	NotRun bool         `json:"not_run,omitempty"`
}

func (a *app) runDrivers(ctx context.Context, o *driversOptions) error {
	if o.format != "text" && o.format != "json" {
		return badFormat(o.format)
	}
	s, err := a.settings(&o.flags)
	if err != nil {
		return err
	}
	home, err := a.home()
	if err != nil {
		return err
	}
	m := plugins.NewManager(plugins.Options{Home: home, Config: s.DriverConfig, Logger: a.log, CheckTimeout: 5 * time.Second})
	defer m.Close()
	probes, err := m.ProbeAll(ctx)
	if err != nil {
		return err
	}
	for i, p := range probes {
		if p.NotRun && p.Name == o.flags.driver {
			probes[i] = m.Probe(ctx, p.Name) // named: run it
		}
	}
	def, _, _ := plugins.ChooseDefault(probes, nil)
	views := driverViews(probes, def)
	if err := a.poolView(ctx, s, views); err != nil {
		return err
	}
	if o.flags.driver != "" {
		views = onlyDriver(views, o.flags.driver)
		if len(views) == 0 {
			return fmt.Errorf("%w: no driver %q; run claude-bottle drivers to list them", driver.ErrNotFound, o.flags.driver)
		}
	}
	return writeDrivers(a.io.out, views, o.format)
}

func onlyDriver(views []driverView, name string) []driverView {
	var out []driverView
	for _, v := range views {
		if v.Name == name {
			out = append(out, v)
		}
	}
	return out
}

// driverViews turns probes into what is printed; def names the default.
func driverViews(probes []plugins.Probe, def string) []driverView {
	views := make([]driverView, 0, len(probes))
	for _, p := range probes {
		v := driverView{
			Name: p.Name, Source: p.Source, Path: p.Path, BuiltIn: p.BuiltIn, Verified: p.Verified,
			Version: firstNonEmpty(p.Info.Version, p.Description.Version), Protocol: p.Description.Protocol,
			Features: featureList(p.Info), Endpoint: p.Info.Endpoint, Notes: p.Info.Notes,
			Ready: p.Ready(), Default: p.Ready() && p.Name == def && p.Verified, NotRun: p.NotRun,
		}
		if p.Err == nil {
			prio := p.Priority()
			if p.Descriptor.Priority != nil || p.Description.Priority != nil {
				v.Priority = &prio
			}
		}
		if p.Err != nil {
			v.Error = p.Err.Error()
		}
		if p.CheckErr != nil {
			v.CheckError = p.CheckErr.Error()
		}
		views = append(views, v)
	}
	return views
}

func featureList(info driver.Info) []string {
	out := []string{}
	for f, ok := range info.Features {
		if ok {
			out = append(out, string(f))
		}
	}
	sort.Strings(out)
	return out
}

func writeDrivers(w io.Writer, views []driverView, format string) error {
	if format == "json" {
		return writeJSON(w, views)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tVERSION\tPROTOCOL\tFEATURES\tSTATUS")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, sourceText(v), termsafe.Text(dash(v.Version)), protocolText(v.Protocol),
			dash(strings.Join(v.Features, ",")), statusText(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writePool(w, views)
	return nil
}

func sourceText(v driverView) string {
	switch {
	case v.BuiltIn:
		return plugins.SourceBuiltin
	case v.Source == plugins.SourcePath:
		return v.Path + " (unverified)"
	}
	return v.Path
}

func protocolText(p int) string {
	if p == 0 {
		return "-"
	}
	return fmt.Sprint(p)
}

func statusText(v driverView) string {
	switch {
	case v.Error != "":
		return "unusable: " + termsafe.Text(oneLine(v.Error))
	case v.CheckError != "":
		return "cannot build here: " + termsafe.Text(oneLine(v.CheckError))
	case v.NotRun:
		return "not run (found on PATH, unverified); check it with claude-bottle drivers --driver " + v.Name
	case v.Default:
		return "ready (default)"
	}
	return "ready"
}
