package batch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// Check refuses, before anything is built, a batch that cannot go well:
//
//   - a bottle's Dockerfile that does not parse (dockerfile.ErrInvalid);
//   - --push without a push name, or a name that names no registry;
//   - two builds that would write to one destination (an --output dest,
//     an image or cache reference): the last would silently win;
//   - a local cache to import from that is not there (BuildKit would make
//     an empty folder and build without it);
//   - a driver that does not answer Info (a plugin that cannot start), or
//     a request field it says it cannot honour here (Info's features),
//     said once instead of once a bottle.
//
// Its error is classed as bad input (driver.ErrInvalidRequest,
// driver.ErrUnsupported, driver.ErrInvalidDockerfile) and names the
// bottle where one is to blame.
func Check(ctx context.Context, plans []*bottle.Plan, o Options) error {
	if err := checkFeatures(ctx, o); err != nil {
		return err
	}
	jobs := group(plans, o)
	for _, j := range jobs {
		if j.err != nil {
			return fmt.Errorf("bottle %s: %w", j.slugs[0], j.err)
		}
	}
	for _, p := range plans {
		if err := p.CheckDockerfile(); err != nil {
			return fmt.Errorf("bottle %s: %w", p.Slug, err)
		}
	}
	if err := checkDestinations(jobs); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := checkCacheSources(j.req.CacheFrom); err != nil {
			return fmt.Errorf("bottle %s: %w", j.slugs[0], err)
		}
	}
	return nil
}

// checkCacheSources refuses a local cache import whose folder holds no
// cache: BuildKit's client would create the folder and go on without it.
func checkCacheSources(specs []driver.CacheSpec) error {
	for _, c := range specs {
		if c.Type != "local" {
			continue
		}
		src := c.Attrs["src"]
		if src == "" {
			return fmt.Errorf("%w: --cache-from type=local needs src=DIR", driver.ErrInvalidRequest)
		}
		st, err := os.Stat(src)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%w: --cache-from type=local,src=%q: no such folder; export a cache there first (--cache-to type=local,dest=DIR) or drop the flag", driver.ErrInvalidRequest, src)
		case err != nil:
			return fmt.Errorf("%w: --cache-from type=local,src=%q: %v", driver.ErrInvalidRequest, src, err)
		case !st.IsDir():
			return fmt.Errorf("%w: --cache-from type=local,src=%q is not a folder", driver.ErrInvalidRequest, src)
		}
		if _, err := os.Stat(filepath.Join(src, "index.json")); err != nil {
			return fmt.Errorf("%w: --cache-from type=local,src=%q holds no cache (no index.json); export one there first (--cache-to type=local,dest=DIR) or drop the flag", driver.ErrInvalidRequest, src)
		}
	}
	return nil
}

// checkFeatures refuses, once, what the driver declares it cannot do here.
// Asking the driver also starts it: a plugin that cannot start (a changed
// checksum, a protocol it does not speak) is refused before any build.
func checkFeatures(ctx context.Context, o Options) error {
	req := o.Request
	if o.Builder == nil {
		return nil
	}
	info, err := o.Builder.Info(ctx)
	if err != nil {
		return fmt.Errorf("driver %s: %w", o.Driver, err)
	}
	see := fmt.Sprintf("see `claude-bottle drivers --driver %s`", info.Name)
	for _, c := range req.CacheTo {
		if c.Type != "inline" && !info.Supports(driver.FeatureCacheExport) {
			return fmt.Errorf("%w: --cache-to type=%s: driver %s cannot export cache here, only inline cache; use type=inline or a builder that can (%s)", driver.ErrUnsupported, c.Type, info.Name, see)
		}
	}
	if len(req.CacheFrom) > 0 && !info.Supports(driver.FeatureCacheImport) {
		return fmt.Errorf("%w: --cache-from: driver %s cannot import cache (%s)", driver.ErrUnsupported, info.Name, see)
	}
	if req.Push && !info.Supports(driver.FeaturePush) {
		return fmt.Errorf("%w: --push: driver %s cannot push here (%s)", driver.ErrUnsupported, info.Name, see)
	}
	for _, out := range req.Outputs {
		if !out.Loads() && !info.Supports(driver.FeatureOutputs) {
			return fmt.Errorf("%w: --output type=%s: driver %s cannot export outputs (%s)", driver.ErrUnsupported, out.Type, info.Name, see)
		}
	}
	return nil
}
