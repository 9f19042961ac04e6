package launch

import (
	"context"
	"encoding/json"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/state"
)

// derivedRecord is what a derived image's build leaves in the bottle's
// state (build/derived-<tag's hex>.json): the image it made, from which
// Dockerfile and on which base image ID.
type derivedRecord struct {
	Dockerfile string `json:"dockerfile"`
	BaseID     string `json:"base_id"`
	ID         string `json:"id"`
}

// deriveFresh is BuildDerived unless the engine still has, under tag, the
// image the last derivation made from the same Dockerfile on the same
// base image ID: then it returns that image without a build (two image
// inspects instead of an engine build, which a warm launch feels).
func deriveFresh(ctx context.Context, cli *client.Client, b *state.Bottle, base, cwd, tag string) (string, error) {
	name := "derived-" + strings.ReplaceAll(tag[strings.LastIndex(tag, ":")+1:], "/", "") + ".json"
	df := DerivedDockerfile(base, cwd)
	baseImg, err := cli.ImageInspect(ctx, base)
	if err != nil {
		return BuildDerived(ctx, cli, base, cwd, tag) // it says what is wrong
	}
	var rec derivedRecord
	if data, err := b.ReadFile("build", name, 4096); err == nil && json.Unmarshal(data, &rec) == nil &&
		rec.Dockerfile == df && rec.BaseID == baseImg.ID && rec.ID != "" {
		img, err := cli.ImageInspect(ctx, tag)
		if err == nil && img.ID == rec.ID {
			return rec.ID, nil
		}
		if err != nil && !cerrdefs.IsNotFound(err) {
			return "", engineError("inspecting "+tag, err)
		}
	}
	id, err := BuildDerived(ctx, cli, base, cwd, tag)
	if err != nil {
		return "", err
	}
	if data, err := json.Marshal(derivedRecord{Dockerfile: df, BaseID: baseImg.ID, ID: id}); err == nil {
		_ = b.WriteFile("build", name, data) // without it the next launch derives again
	}
	return id, nil
}
