package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
)

// drivers returns the source of drivers for this command: the plugin
// manager, or the in-process built-ins when CLAUDE_BOTTLE_IN_PROCESS=1 (for
// benchmarks and debugging a driver).
// With a BuildKit pool, "buildkit" is the pool of one such source a
// member.
func (a *app) drivers(s config.Settings) (driverSource, error) {
	mk := func(c driver.Config) (driverSource, error) {
		if os.Getenv("CLAUDE_BOTTLE_IN_PROCESS") == "1" {
			return newInProcess(c), nil
		}
		ms := s
		ms.DriverConfig = c
		return a.pluginDrivers(ms)
	}
	if len(s.Pool) > 0 {
		return newPoolSource(s, mk)
	}
	return mk(s.DriverConfig)
}

// chooseDriver names the driver a build will use and why: the one the user
// named, else the best one that works here.
func (a *app) chooseDriver(ctx context.Context, src driverSource, s config.Settings) (string, string, error) {
	if s.Driver != "" {
		return s.Driver, "named by " + s.DriverFrom, nil
	}
	return src.Default(ctx)
}

// openDriver opens the named driver; an unknown name is bad input, and the
// error says where the name came from.
func openDriver(ctx context.Context, src driverSource, name string, s config.Settings) (driver.Builder, error) {
	b, err := src.Open(ctx, name)
	if errors.Is(err, driver.ErrNotFound) && s.Driver == name && s.DriverFrom != "" {
		return nil, usageErr(fmt.Errorf("%s: %w", s.DriverFrom, err))
	}
	if errors.Is(err, driver.ErrNotFound) {
		return nil, usageErr(err)
	}
	return b, err
}
