package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/buildkey"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
)

// endpointEnv are the variables that change which engine or builder a
// driver talks to when its configuration leaves that to the environment.
var endpointEnv = []string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "BUILDKIT_HOST", "DOCKER_BUILDKIT", "BUILDX_BUILDER"}

// upToDate is how build tells bottles that need no build: keyed over the
// driver's configuration, checked against one image list of the engine
// the images are loaded into.
func upToDate(s config.Settings, force bool) *batch.UpToDate {
	env := map[string]string{}
	for _, k := range endpointEnv {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	ep, _ := json.Marshal(struct {
		Config any               `json:"config"`
		Env    map[string]string `json:"env"`
	}{s.DriverConfig, env})
	return &batch.UpToDate{
		Endpoint: string(ep),
		Force:    force,
		Images: func(ctx context.Context) (buildkey.Images, error) {
			cli, err := launch.Connect(s.DriverConfig.DockerHost)
			if err != nil {
				return nil, err
			}
			defer cli.Close()
			return buildkey.ListImages(ctx, cli)
		},
	}
}
