package batch

import (
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// SlugPlaceholder, in an --output, --cache-to or --cache-from attribute
// (dest=, name=, ref=, src=), is replaced by each bottle's slug, so that
// one command line gives every bottle its own destination.
const SlugPlaceholder = "{slug}"

// bottleRequest is the build request of one bottle: the batch's options
// over the bottle's own settings, {slug} filled in, and, with push, the
// push output for the name the template gives the bottle. pushed is that
// name.
func bottleRequest(p *bottle.Plan, o Options) (req driver.Request, pushed string, err error) {
	own := o.Bottles[p.Slug]
	req = own.apply(p.RequestWith(o.Request))
	tmpl := first(own.PushName, o.PushName)
	req.Outputs = expandOutputs(req.Outputs, p.Slug)
	req.CacheTo = expandCache(req.CacheTo, p.Slug)
	req.CacheFrom = expandCache(req.CacheFrom, p.Slug)
	if !req.Push {
		return req, "", nil
	}
	if tmpl == "" {
		return req, "", fmt.Errorf("%w: --push: no push name, so no registry to push to (nothing goes to Docker Hub unasked); "+
			"pass --push-name REGISTRY/REPO/{image}:{tag} or set [push] name in config.toml", driver.ErrInvalidRequest)
	}
	if pushed, err = bottle.PushName(tmpl, p.Slug, p.Image); err != nil {
		return req, "", fmt.Errorf("%w: %w", driver.ErrInvalidRequest, err)
	}
	// The push is an output of its own, so that only the push name goes
	// to the registry: the local tag (docker.io/library/... to a
	// registry) never does. The engine keeps getting the image unless
	// other outputs replace it.
	req.Push = false
	if len(req.Outputs) == 0 && !req.NoLoad {
		req.Outputs = append(req.Outputs, driver.LoadOutput())
	}
	req.Outputs = append(req.Outputs, driver.Output{Type: "registry", Attrs: map[string]string{"name": pushed}})
	return req, pushed, nil
}

func expandOutputs(outs []driver.Output, slug string) []driver.Output {
	if outs == nil {
		return nil
	}
	res := make([]driver.Output, len(outs))
	for i, o := range outs {
		res[i] = driver.Output{Type: o.Type, Attrs: expandAttrs(o.Attrs, slug)}
	}
	return res
}

func expandCache(specs []driver.CacheSpec, slug string) []driver.CacheSpec {
	if specs == nil {
		return nil
	}
	res := make([]driver.CacheSpec, len(specs))
	for i, c := range specs {
		res[i] = driver.CacheSpec{Type: c.Type, Attrs: expandAttrs(c.Attrs, slug)}
	}
	return res
}

func expandAttrs(attrs map[string]string, slug string) map[string]string {
	out := maps.Clone(attrs)
	for k, v := range out {
		out[k] = strings.ReplaceAll(v, SlugPlaceholder, slug)
	}
	return out
}

// destinations lists where a request writes besides the engine, each as
// "what value" (a path made absolute, or an image or cache reference):
// two builds of a batch must never share one, or the last would silently
// replace the others.
func destinations(req driver.Request) []string {
	var out []string
	for _, o := range req.Outputs {
		if d := o.Attrs["dest"]; d != "" && d != "-" {
			out = append(out, "--output dest "+absPath(d))
		}
		if o.Type == "image" || o.Type == "registry" {
			for _, n := range splitNames(o.Attrs["name"]) {
				out = append(out, "image name "+n)
			}
		}
	}
	for _, c := range req.CacheTo {
		if d := c.Attrs["dest"]; d != "" {
			out = append(out, "--output dest "+absPath(d)) // a cache folder is a path like any output's
		}
		if r := c.Attrs["ref"]; r != "" {
			out = append(out, "--cache-to ref "+r)
		}
	}
	return out
}

func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// checkDestinations refuses jobs that write to the same destination.
func checkDestinations(jobs []*job) error {
	owner := map[string]*job{}
	var clashes []string
	for _, j := range jobs {
		for _, d := range destinations(j.req) {
			if prev, ok := owner[d]; ok && prev != j {
				clashes = append(clashes, fmt.Sprintf("%s is the same for bottles %s and %s", d, prev.slugs[0], j.slugs[0]))
				continue
			}
			owner[d] = j
		}
	}
	if len(clashes) == 0 {
		return nil
	}
	sort.Strings(clashes)
	return fmt.Errorf("%w: %s, so one build would overwrite the other; put %s in dest=, name= or ref= (dest=out/%s.tar), or build the bottles one at a time",
		driver.ErrInvalidRequest, clashes[0], SlugPlaceholder, SlugPlaceholder)
}
