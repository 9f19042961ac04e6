package buildkey

import (
	"context"
	"fmt"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
)

// Images maps the references the engine knows (tags and repo digests,
// normalised) to image IDs: one image list a batch answers every bottle's
// "is the tag still on that ID?" and "which ID is this FROM image?".
type Images map[string]string

// ID returns the ID of the image ref names, or "" when the engine has
// none by that name.
func (im Images) ID(ref string) string { return im[Normalize(ref)] }

// Add records that ref names image id.
func (im Images) Add(ref, id string) { im[Normalize(ref)] = id }

// Normalize spells an image reference the one way: "debian" and
// "docker.io/library/debian:latest" are the same image.
func Normalize(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.TagNameOnly(named).String()
}

// ListImages lists the engine's images in one call.
func ListImages(ctx context.Context, cli *client.Client) (Images, error) {
	res, err := cli.ImageList(ctx, client.ImageListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the Docker engine's images: %w", err)
	}
	im := Images{}
	for _, s := range res.Items {
		for _, r := range s.RepoTags {
			im.Add(r, s.ID)
		}
		for _, r := range s.RepoDigests {
			im.Add(r, s.ID)
		}
	}
	return im, nil
}
