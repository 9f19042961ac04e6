package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/plugins"
	"github.com/claude-bottle/claude-bottle/progress"
)

// Shell completion (cobra's `completion` command) of what build, plan and
// launch take: the slugs of bottles with state, the drivers and the
// progress modes. Completion reads state and lists drivers; it starts no
// driver and writes nothing.

// slugArgs says which commands take slugs: several, or one first.
var slugArgs = map[string]bool{"build": true, "plan": true, "launch": false}

// addCompletions registers, on every command of the tree, the completion
// of its slugs and of its --driver and --progress flags.
func (a *app) addCompletions(root *cobra.Command) {
	for _, cmd := range root.Commands() {
		if several, ok := slugArgs[cmd.Name()]; ok && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = a.completeOneSlug
			if several {
				cmd.ValidArgsFunction = a.completeSlugs
			}
		}
		a.completeFlags(cmd)
		a.addCompletions(cmd)
	}
}

// completeSlugs suggests the slugs of bottles that have state, leaving
// out those already on the command line.
func (a *app) completeSlugs(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	store, err := a.store()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	slugs, err := store.List()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	given := map[string]bool{}
	for _, s := range args {
		given[s] = true
	}
	var out []string
	for _, s := range slugs {
		if !given[s] && strings.HasPrefix(s, toComplete) {
			out = append(out, s)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeOneSlug is completeSlugs for a command that takes one slug.
func (a *app) completeOneSlug(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeSlugs(cmd, args, toComplete)
}

// completeFlags registers the completion of --driver (every driver
// discovery finds, built-in or plugin) and --progress, where cmd has them.
func (a *app) completeFlags(cmd *cobra.Command) {
	if cmd.Flags().Lookup("driver") != nil {
		_ = cmd.RegisterFlagCompletionFunc("driver", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return a.driverNames(), cobra.ShellCompDirectiveNoFileComp
		})
	}
	if cmd.Flags().Lookup("progress") != nil {
		_ = cmd.RegisterFlagCompletionFunc("progress", cobra.FixedCompletions(progress.Modes, cobra.ShellCompDirectiveNoFileComp))
	}
}

// driverNames lists the drivers that can be named, without starting any.
func (a *app) driverNames() []string {
	home, err := a.home()
	if err != nil {
		return nil
	}
	m := plugins.NewManager(plugins.Options{Home: home})
	defer m.Close()
	ds, err := m.Drivers(context.Background())
	if err != nil {
		return nil
	}
	var names []string
	for _, d := range ds {
		if d.Err == nil {
			names = append(names, d.Name)
		}
	}
	return names
}
