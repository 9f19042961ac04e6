package main

import (
	"github.com/claude-bottle/claude-bottle/config"
)

// pluginDrivers is the plugin manager as a driverSource.
// TODO(lead): switch to plugins.Manager once package plugins lands.
func (a *app) pluginDrivers(s config.Settings) (driverSource, error) {
	return newInProcess(s.DriverConfig), nil
}
