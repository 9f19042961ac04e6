package main

import (
	"context"
	"os"

	"github.com/claude-bottle/claude-bottle/config"
)

// drivers returns the source of drivers for this command: the plugin
// manager, or the in-process built-ins when CLAUDE_BOTTLE_IN_PROCESS=1 (for
// benchmarks and debugging a driver).
func (a *app) drivers(s config.Settings) (driverSource, error) {
	if os.Getenv("CLAUDE_BOTTLE_IN_PROCESS") == "1" {
		return newInProcess(s.DriverConfig), nil
	}
	return a.pluginDrivers(s)
}

// chooseDriver names the driver a build will use and why: the one the user
// named, else the best one that works here.
func (a *app) chooseDriver(ctx context.Context, src driverSource, s config.Settings, f *driverFlags) (string, string, error) {
	switch {
	case f.driver != "":
		return f.driver, "chosen with --driver", nil
	case s.Driver != "":
		return s.Driver, "chosen by $CLAUDE_BOTTLE_DRIVER or config.toml", nil
	}
	return src.Default(ctx)
}
