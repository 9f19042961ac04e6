package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

func newStopCmd(a *app) *cobra.Command {
	var f driverFlags
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "stop SLUG [--grace DURATION]",
		Short: "Stop a running bottle: SIGTERM, then SIGKILL after the grace; its launch saves the transcript",
		Args:  exactArgs(1, "SLUG"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := state.ValidateSlug(args[0]); err != nil {
				return err
			}
			if grace <= 0 {
				return usageErr(fmt.Errorf("--grace %s: want a positive duration, like 10s", grace))
			}
			s, err := a.settings(&f)
			if err != nil {
				return err
			}
			cli, err := launch.Connect(s.DriverConfig.DockerHost)
			if err != nil {
				return err
			}
			defer cli.Close()
			if err := launch.Stop(cmd.Context(), cli, args[0], grace); errors.Is(err, launch.ErrNotRunning) {
				return usageErr(err)
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.io.err, "bottle %s stopped\n", args[0])
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().DurationVar(&grace, "grace", launch.DefaultStopGrace, "how long the bottle has to exit after SIGTERM before it is killed")
	return cmd
}
