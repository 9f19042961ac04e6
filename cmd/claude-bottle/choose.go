package main

import (
	"context"

	"github.com/claude-bottle/claude-bottle/config"
)

// chooseDriver names the driver a build will use and why.
func (a *app) chooseDriver(ctx context.Context, s config.Settings, f *driverFlags) (string, string, error) {
	switch {
	case f.driver != "":
		return f.driver, "chosen with --driver", nil
	case s.Driver != "":
		return s.Driver, "chosen by $CLAUDE_BOTTLE_DRIVER or config.toml", nil
	}
	return "auto", "the best driver that works here is picked at build time", nil
}
