package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/state"
)

func newStateCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect and change a bottle's persistent state (Dockerfile override, transcript)",
	}
	cmd.AddCommand(
		a.newStatePathCmd(), a.newStateShowCmd(), a.newStateSetDockerfileCmd(),
		a.newStateResetCmd(), a.newStateListCmd(),
	)
	groupCommand(cmd)
	return cmd
}

// bottle opens one bottle's state, validating the slug first.
func (a *app) bottle(slug string) (*state.Bottle, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	return store.Bottle(slug)
}

func (a *app) newStatePathCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "path SLUG",
		Short: "Print the bottle's state folder",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := a.bottle(args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(a.io.out, b.Dir())
			return nil
		},
	}
}

// stateView is what `state show --format json` prints.
type stateView struct {
	Slug       string              `json:"slug"`
	Dir        string              `json:"dir"`
	Override   string              `json:"override,omitempty"`
	Image      string              `json:"image"`
	Rebuilt    bool                `json:"rebuilt"`
	Transcript *state.SnapshotInfo `json:"transcript,omitempty"`
	// Capabilities and Stale come from the bottle's capabilities.json.
	Capabilities []capability.Capability `json:"capabilities"`
	Stale        bool                    `json:"stale"`
	Hint         string                  `json:"hint,omitempty"`
}

func (a *app) newStateShowCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show SLUG",
		Short: "Show the bottle's override, image and transcript snapshot",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := a.stateView(args[0])
			if err != nil {
				return err
			}
			return writeStateView(a, v, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func (a *app) stateView(slug string) (stateView, error) {
	b, err := a.bottle(slug)
	if err != nil {
		return stateView{}, err
	}
	v := stateView{Slug: slug, Dir: b.Dir()}
	path, ok, err := b.OverridePath()
	if err != nil {
		return v, err
	}
	if ok {
		v.Override = path
	}
	if v.Image, v.Rebuilt, err = bottle.TagOf(b); err != nil {
		return v, err
	}
	if info, ok, err := b.Snapshot(); err != nil {
		return v, err
	} else if ok {
		v.Transcript = &info
	}
	v.Capabilities = []capability.Capability{}
	if has, err := a.hasCapabilities(slug); err != nil || !has {
		return v, err // only a bottle with capabilities can drift
	}
	st, err := a.capabilityStatus(slug, &driverFlags{})
	if err != nil {
		return v, err
	}
	v.Capabilities, v.Stale, v.Hint = st.Capabilities, st.Stale, st.Hint()
	return v, nil
}

func writeStateView(a *app, v stateView, format string) error {
	switch format {
	case "json":
		return writeJSON(a.io.out, v)
	case "text", "":
	default:
		return badFormat(format)
	}
	tw := tabwriter.NewWriter(a.io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "bottle\t%s\nfolder\t%s\nimage\t%s\n", v.Slug, v.Dir, v.Image)
	if v.Override != "" {
		fmt.Fprintf(tw, "override\t%s\n", v.Override)
	} else {
		fmt.Fprintf(tw, "override\tnone (the repo's Dockerfile is used)\n")
	}
	if len(v.Capabilities) > 0 {
		fmt.Fprintf(tw, "capabilities\t%s\n", capabilityNames(v.Capabilities))
	}
	if v.Hint != "" {
		fmt.Fprintf(tw, "drift\t%s\n", v.Hint)
	}
	if v.Transcript != nil {
		fmt.Fprintf(tw, "transcript\t%s, %d files, %s\n", v.Transcript.Taken.Local().Format("2006-01-02 15:04:05"), v.Transcript.Files, humanBytes(v.Transcript.Bytes))
	} else {
		fmt.Fprintf(tw, "transcript\tnone\n")
	}
	return tw.Flush()
}

func (a *app) newStateSetDockerfileCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-dockerfile SLUG [FILE|-]",
		Short: "Give the bottle its own Dockerfile (built as " + bottle.Tag("SLUG", true) + ", context still the repo root)",
		Long: "Reads FILE, or standard input when FILE is - or absent, checks that it parses as a\n" +
			"Dockerfile, and writes it atomically as the bottle's override.",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErr(fmt.Errorf("set-dockerfile takes SLUG and optionally FILE or - (got %d arguments)", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := a.bottle(args[0])
			if err != nil {
				return err
			}
			if has, err := a.hasCapabilities(b.Slug()); err != nil || has {
				if err == nil {
					err = a.setBase(cmd, b, args[1:])
				}
				return err
			}
			if err := a.setDockerfile(b, args[1:]); err != nil {
				return err
			}
			fmt.Fprintf(a.io.err, "bottle %s now builds %s as %s\n", b.Slug(), b.DockerfilePath(), bottle.Tag(b.Slug(), true))
			return nil
		},
	}
}

func (a *app) setDockerfile(b *state.Bottle, args []string) error {
	if len(args) == 0 || args[0] == "-" {
		return bottle.SetOverrideFrom(b, a.io.in, "standard input")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return usageErr(fmt.Errorf("cannot read Dockerfile: %w; give the path of a readable Dockerfile, or - for standard input", err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return usageErr(fmt.Errorf("%q is not a regular file; give the path of a Dockerfile", args[0]))
	}
	return bottle.SetOverrideFrom(b, f, args[0])
}

// hasCapabilities reports whether the bottle keeps capabilities: then
// its own Dockerfile is its base, and a reset clears them too.
func (a *app) hasCapabilities(slug string) (bool, error) {
	store, err := a.store()
	if err != nil {
		return false, err
	}
	return capability.HasList(store, slug)
}

// setBase gives a bottle with capabilities its own base Dockerfile; its
// override is stale until rebased (built, then swapped in).
func (a *app) setBase(cmd *cobra.Command, b *state.Bottle, args []string) error {
	r, name := a.io.in, "standard input"
	if len(args) > 0 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return usageErr(fmt.Errorf("cannot read Dockerfile: %w; give the path of a readable Dockerfile, or - for standard input", err))
		}
		defer f.Close()
		r, name = f, args[0]
	}
	data, err := dockerfile.Read(r, name)
	if err != nil {
		return err
	}
	store, err := a.store()
	if err != nil {
		return err
	}
	if err := capability.SetBase(cmd.Context(), store, b.Slug(), data, ""); err != nil {
		return err
	}
	fmt.Fprintf(a.io.err, "bottle %s: %s is now its base; its capabilities go on it with `claude-bottle capability rebase %s`\n", b.Slug(), b.FilePath(capability.BaseFile), b.Slug())
	return nil
}

func (a *app) newStateResetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "reset SLUG",
		Short: "Remove the bottle's Dockerfile override, so it runs on " + bottle.Tag("SLUG", false) + " again",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := a.bottle(args[0])
			if err != nil {
				return err
			}
			if has, err := a.hasCapabilities(b.Slug()); err != nil {
				return err
			} else if has {
				store, _ := a.store()
				err = capability.Reset(cmd.Context(), store, b.Slug(), "")
				if err != nil {
					return err
				}
			} else if err := b.ResetOverride(); err != nil {
				return err
			}
			fmt.Fprintf(a.io.err, "bottle %s now builds the repo's Dockerfile as %s\n", b.Slug(), bottle.Tag(b.Slug(), false))
			return nil
		},
	}
}

func (a *app) newStateListCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every bottle that has state",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.store()
			if err != nil {
				return err
			}
			slugs, err := store.List()
			if err != nil {
				return err
			}
			views := make([]stateView, 0, len(slugs))
			for _, s := range slugs {
				v, err := a.stateView(s)
				if err != nil {
					return err
				}
				views = append(views, v)
			}
			return writeStateList(a, views, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeStateList(a *app, views []stateView, format string) error {
	if format == "json" {
		return writeJSON(a.io.out, views)
	}
	if format != "text" && format != "" {
		return badFormat(format)
	}
	tw := tabwriter.NewWriter(a.io.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tIMAGE\tOVERRIDE\tTRANSCRIPT")
	for _, v := range views {
		ov, tr := "-", "-"
		if v.Override != "" {
			ov = "yes"
		}
		if v.Transcript != nil {
			tr = v.Transcript.Taken.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Slug, v.Image, ov, tr)
	}
	return tw.Flush()
}
