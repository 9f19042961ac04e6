package main

import (
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/plugins"
)

// pluginDrivers is the plugin manager as a driverSource: every driver,
// built-in or third-party, runs as a go-plugin subprocess.
func (a *app) pluginDrivers(s config.Settings) (driverSource, error) {
	root, err := a.home()
	if err != nil {
		return nil, err
	}
	return plugins.NewManager(plugins.Options{Home: root, Config: s.DriverConfig, Logger: a.log}), nil
}
