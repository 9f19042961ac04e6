package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/plugins"
)

func newPluginCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Install, upgrade, list and remove third-party build driver plugins",
		Long: `Third-party build drivers are executables named claude-bottle-driver-NAME,
built with the claude-bottle plugin SDK. 'plugin install' copies one into the
state root's plugins folder and records its SHA-256; claude-bottle checks the
checksum before every start and refuses a binary that changed. 'plugin
upgrade' installs again from the file a plugin was installed from.`,
	}
	cmd.AddCommand(a.newPluginInstallCmd(), a.newPluginUpgradeCmd(), a.newPluginListCmd(), a.newPluginRemoveCmd())
	groupCommand(cmd)
	return cmd
}

// pluginManager is a plugin manager over the state root, for the plugin
// commands: they start a plugin only to check it, with an empty driver
// configuration (a plugin's New must accept one).
func (a *app) pluginManager() (*plugins.Manager, error) {
	home, err := a.home()
	if err != nil {
		return nil, err
	}
	return plugins.NewManager(plugins.Options{Home: home, Logger: a.log}), nil
}

func (a *app) newPluginInstallCmd() *cobra.Command {
	var o plugins.InstallOptions
	cmd := &cobra.Command{
		Use:   "install PATH",
		Short: "Install a driver plugin binary and record its checksum",
		Long: `Copy the plugin binary at PATH into the plugins folder as
claude-bottle-driver-NAME and record its SHA-256. The binary is started once
first to check that it is a claude-bottle driver plugin speaking a protocol
version this claude-bottle speaks; nothing is installed otherwise. NAME
defaults to the part of PATH's file name after "claude-bottle-driver-", else
to the name the plugin gives itself. A name already installed is refused
unless --force is given; then the new binary replaces it in one step, once
checked.`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPluginInstall(cmd.Context(), args[0], o)
		},
	}
	cmd.Flags().StringVar(&o.Name, "name", "", "driver name to install the plugin as")
	cmd.Flags().BoolVar(&o.Replace, "force", false, "replace an installed plugin of the same name")
	return cmd
}

func (a *app) runPluginInstall(ctx context.Context, src string, o plugins.InstallOptions) error {
	m, err := a.pluginManager()
	if err != nil {
		return err
	}
	defer m.Close()
	in, err := m.Install(ctx, src, o)
	if err != nil {
		return pluginInputErr(err)
	}
	d := in.Description
	fmt.Fprintf(a.io.out, "installed driver plugin %q (%s %s, protocol %d) as %s\nsha256 %s\n",
		in.Name, d.Name, dash(d.Version), d.Protocol, in.Path, in.SHA256)
	return nil
}

// pluginInputErr marks the plugin errors that are the user's to fix as
// bad input (exit 2).
func pluginInputErr(err error) error {
	for _, class := range []error{plugins.ErrInvalidName, plugins.ErrBadPlugin, plugins.ErrAlreadyInstalled} {
		if errors.Is(err, class) {
			return usageErr(err)
		}
	}
	return err
}

// pluginView is one installed plugin as `plugin list --format json` prints it.
type pluginView struct {
	plugins.Installed
	OK      bool   `json:"ok"`
	Problem string `json:"problem,omitempty"`
}

func (a *app) newPluginListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List installed driver plugins and check their checksums",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return badFormat(format)
			}
			m, err := a.pluginManager()
			if err != nil {
				return err
			}
			defer m.Close()
			list, err := m.InstalledPlugins(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.writePlugins(list, format); err != nil {
				return err
			}
			return refusedPlugins(list)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func (a *app) writePlugins(list []plugins.Installed, format string) error {
	views := make([]pluginView, 0, len(list))
	for _, in := range list {
		v := pluginView{Installed: in, OK: in.Problem == nil}
		if in.Problem != nil {
			v.Problem = in.Problem.Error()
		}
		views = append(views, v)
	}
	if format == "json" {
		return writeJSON(a.io.out, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(a.io.out, "no driver plugins installed (install one with claude-bottle plugin install PATH)")
		return nil
	}
	tw := tabwriter.NewWriter(a.io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSHA256\tINSTALLED\tFROM\tSTATUS")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\t%s\n", v.Name, v.SHA256, v.InstalledAt.Format("2006-01-02 15:04"), dash(v.Source), pluginStatus(v))
	}
	return tw.Flush()
}

// pluginStatus says whether a plugin would run, and whether the file it
// was installed from has changed since.
func pluginStatus(v pluginView) string {
	status := "ok"
	if !v.OK {
		status = "refused: " + oneLine(v.Problem)
	}
	switch v.SourceState {
	case plugins.SourceChanged:
		status += fmt.Sprintf("; FROM has changed since (install it with claude-bottle plugin upgrade %s)", v.Name)
	case plugins.SourceMissing:
		status += "; FROM is gone"
	}
	return status
}

// refusedPlugins is the error of a list holding plugins that would be
// refused at start (a changed or missing binary): bad input, exit 2, in
// one line naming them, after the list is printed.
func refusedPlugins(list []plugins.Installed) error {
	var refused []string
	for _, in := range list {
		if in.Problem != nil {
			refused = append(refused, fmt.Sprintf("plugin %q is refused: %s", in.Name, oneLine(in.Problem.Error())))
		}
	}
	if len(refused) == 0 {
		return nil
	}
	return usageErr(errors.New(strings.Join(refused, "; ")))
}

func (a *app) newPluginRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Uninstall a driver plugin",
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := a.pluginManager()
			if err != nil {
				return err
			}
			defer m.Close()
			err = m.Remove(cmd.Context(), args[0])
			if errors.Is(err, plugins.ErrInvalidName) {
				return usageErr(err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.io.out, "removed driver plugin %q\n", args[0])
			return nil
		},
	}
}
