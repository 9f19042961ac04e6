// Command tinyplugin is the smallest driver plugin, built by
// TestBuildPluginThenStart as a plugin author's test builds theirs.
package main

import (
	"context"
	"fmt"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

type tiny struct{}

func (tiny) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "tinyplugin", Version: "0.0.2"}, nil
}

func (tiny) Check(context.Context) error { return nil }

func (tiny) Build(_ context.Context, req driver.Request, _ driver.Sink) (*driver.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return &driver.Result{ImageID: fmt.Sprintf("sha256:%064d", len(req.Tags)), Tags: req.Tags}, nil
}

func main() {
	sdk.Serve(sdk.Plugin{
		Name: "tinyplugin", Version: "0.0.2", Usage: "built by sdktest.BuildPlugin",
		New: func(context.Context, driver.Config) (driver.Builder, error) { return tiny{}, nil },
	})
}
