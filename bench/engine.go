package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	dockerclient "github.com/moby/moby/client"
)

// Image names the bench leaves in the engine start with one of these, so
// that it removes its own images and nobody else's.
var benchImagePrefixes = []string{"claude-bottle-rebuilt-bench-", "claude-bottle-cwd-bench-", "cb-bench-"}

// imageID is the engine's ID of image ref, "" when it has none.
func (e *Env) imageID(ctx context.Context, ref string) (string, error) {
	res, err := e.docker.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return res.ID, nil
	case cerrdefs.IsNotFound(err):
		return "", nil
	}
	return "", fmt.Errorf("inspect image %q: %w", ref, err)
}

// removeImages removes the images refs name from the engine, by ID, so
// that no other tag keeps a cold case's image alive.
func (e *Env) removeImages(ctx context.Context, refs []string) error {
	seen := map[string]bool{}
	for _, ref := range refs {
		id, err := e.imageID(ctx, ref)
		if err != nil {
			return err
		}
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if _, err := e.docker.ImageRemove(ctx, id, dockerclient.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove image %s (%s): %w", id, ref, err)
		}
	}
	return nil
}

// dropReplaced removes image id if no tag names it any more: what an edit
// leaves behind (200 MB a build in the big workload). A refusal (another
// tag or a container still uses it) is fine.
func (e *Env) dropReplaced(ctx context.Context, id string) {
	if id != "" {
		e.docker.ImageRemove(ctx, id, dockerclient.ImageRemoveOptions{PruneChildren: true})
	}
}

// removeBenchImages removes every image whose name has a bench prefix.
func (e *Env) removeBenchImages(ctx context.Context) error {
	res, err := e.docker.ImageList(ctx, dockerclient.ImageListOptions{})
	if err != nil {
		return fmt.Errorf("list images: %w", err)
	}
	var errs []error
	for _, img := range res.Items {
		for _, tag := range img.RepoTags {
			if hasBenchPrefix(tag) {
				if _, err := e.docker.ImageRemove(ctx, img.ID, dockerclient.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
					errs = append(errs, err)
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

func hasBenchPrefix(tag string) bool {
	for _, p := range benchImagePrefixes {
		if strings.HasPrefix(tag, p) || strings.Contains(tag, "/"+p) {
			return true
		}
	}
	return false
}

// pruneBuildkitd empties the caches of the bench buildkitd and of the
// pool cases' second one.
func (e *Env) pruneBuildkitd(ctx context.Context) error {
	_, err := command{name: e.buildctl, args: []string{"--addr", e.bk.Addr, "prune", "--all"}}.output(ctx)
	if err == nil && e.bk2 != nil {
		_, err = command{name: e.buildctl, args: []string{"--addr", e.bk2.Addr, "prune", "--all"}}.output(ctx)
	}
	return err
}

// pruneEngineCache empties the engine's BuildKit cache. It is the engine's
// whole build cache, shared with anything else building on this engine:
// only the engine cases' cold runs do it.
func (e *Env) pruneEngineCache(ctx context.Context) error {
	_, err := command{name: dockerOld, args: []string{"builder", "prune", "--all", "--force"}}.output(ctx)
	return err
}
