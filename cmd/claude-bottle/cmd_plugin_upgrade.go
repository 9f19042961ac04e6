package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/plugins"
)

func (a *app) newPluginUpgradeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade [NAME...]",
		Short: "Install plugins again from the files they were installed from",
		Long: `Install each named plugin again from the file it was installed from,
checked as 'plugin install' checks it, replacing the installed copy in one
step: the loop of a plugin's author is build, then upgrade. With no NAME,
upgrade every installed plugin whose file has changed since it was
installed ('plugin list' shows which).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runPluginUpgrade(cmd.Context(), args)
		},
	}
}

func (a *app) runPluginUpgrade(ctx context.Context, names []string) error {
	m, err := a.pluginManager()
	if err != nil {
		return err
	}
	defer m.Close()
	list, err := m.InstalledPlugins(ctx)
	if err != nil {
		return err
	}
	old := map[string]plugins.Installed{}
	for _, in := range list {
		old[in.Name] = in
	}
	if len(names) == 0 {
		for _, in := range list {
			if in.SourceState == plugins.SourceChanged {
				names = append(names, in.Name)
			}
		}
		if len(names) == 0 {
			fmt.Fprintln(a.io.out, "every installed plugin is up to date with the file it was installed from")
			return nil
		}
	}
	for _, name := range names {
		in, err := m.Upgrade(ctx, name)
		if err != nil {
			return pluginInputErr(err)
		}
		if was := old[name].SHA256; was == in.SHA256 {
			fmt.Fprintf(a.io.out, "driver plugin %q is unchanged (sha256 %.12s, from %s)\n", name, in.SHA256, in.Source)
		} else {
			fmt.Fprintf(a.io.out, "upgraded driver plugin %q from %s: sha256 %.12s -> %.12s (%s %s, protocol %d)\n",
				name, in.Source, was, in.SHA256, in.Description.Name, dash(in.Description.Version), in.Description.Protocol)
		}
	}
	return nil
}
