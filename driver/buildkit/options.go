package buildkit

import (
	"fmt"
	"io"
	"maps"
	"os"

	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
)

// frontendAttrs turns the request into the Dockerfile frontend's options,
// the same keys docker build and buildctl send.
func frontendAttrs(req driver.Request) map[string]string {
	_, name := req.DockerfileDir()
	attrs := map[string]string{"filename": name}
	if req.Target != "" {
		attrs["target"] = req.Target
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range req.Labels {
		attrs["label:"+k] = v
	}
	switch {
	case req.NoCache:
		attrs["no-cache"] = ""
	case len(req.NoCacheStages) > 0:
		attrs["no-cache"] = strings.Join(req.NoCacheStages, ",")
	}
	if req.Pull {
		attrs["image-resolve-mode"] = "pull"
	}
	if len(req.Platforms) > 0 {
		attrs["platform"] = strings.Join(req.Platforms, ",")
	}
	return attrs
}

// cacheEntries maps cache specs onto BuildKit's, refusing the types this
// driver does not offer and, on the engine's embedded BuildKit, registry
// cache export, which it lacks. field names the request field for errors.
func cacheEntries(specs []driver.CacheSpec, field string, ep endpoint) ([]client.CacheOptionsEntry, error) {
	var out []client.CacheOptionsEntry
	for _, s := range specs {
		switch s.Type {
		case "registry", "inline":
		case "local":
			key := "src"
			if field == "cache-to" {
				key = "dest"
			}
			if s.Attrs[key] == "" {
				return nil, fmt.Errorf("%w: %s type=local needs %s=DIR", driver.ErrInvalidRequest, field, key)
			}
		default:
			return nil, fmt.Errorf("%w: %s type=%q (the buildkit driver takes registry, local or inline)", driver.ErrUnsupported, field, s.Type)
		}
		if s.Type == "registry" && s.Attrs["ref"] == "" {
			return nil, fmt.Errorf("%w: %s type=registry needs ref=IMAGE", driver.ErrInvalidRequest, field)
		}
		if field == "cache-to" && s.Type != "inline" && !ep.standalone() {
			// Measured on Docker 20.10: "unknown cache exporter" for both.
			return nil, fmt.Errorf("%w: %s type=%s: the Docker engine's embedded BuildKit cannot export cache to a %s; "+
				"use type=inline, or pass --buildkit-addr to use a standalone buildkitd", driver.ErrUnsupported, field, s.Type, s.Type)
		}
		// BuildKit's client writes into the attributes (a local cache's
		// digest), so each build gets its own copy.
		attrs := maps.Clone(s.Attrs)
		if attrs == nil {
			attrs = map[string]string{}
		}
		out = append(out, client.CacheOptionsEntry{Type: s.Type, Attrs: attrs})
	}
	return out, nil
}

// exportPlan is where a build's result goes.
type exportPlan struct {
	entries []client.ExportEntry
	// load is set when a standalone buildkitd's image is loaded into the
	// engine; engineStore when the engine's BuildKit writes it there itself.
	load        *loader
	engineStore bool
	// digest is set when the exporter response's manifest digest means
	// something to the user: after a push or an archive export. The last
	// exporter's response wins, so a push is planned last.
	digest bool
}

// planExports decides the exporters for req on ep. The engine gets the
// image unless the request has Outputs (which replace it, unless one of
// them is the load, driver.LoadOutput) or NoLoad.
func planExports(req driver.Request, ep endpoint, ld *loader) (exportPlan, error) {
	var p exportPlan
	if req.Push && len(req.Tags) == 0 {
		return p, fmt.Errorf("%w: push needs at least one tag naming the registry and repository (-t REGISTRY/REPO:TAG)", driver.ErrInvalidRequest)
	}
	if !ep.standalone() {
		if err := engineCanHonour(req); err != nil {
			return p, err
		}
	}
	if req.Loads() {
		if err := p.addLoad(req, ep, ld); err != nil {
			return p, err
		}
	}
	for _, o := range req.Outputs {
		if o.Loads() {
			continue // planned above
		}
		e, err := outputEntry(o, ep)
		if err != nil {
			return p, err
		}
		p.entries = append(p.entries, e)
		p.digest = p.digest || e.Type != client.ExporterLocal && e.Type != client.ExporterTar
	}
	if req.Push && ep.standalone() {
		p.entries = append(p.entries, client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{"name": strings.Join(req.Tags, ","), "push": "true"}})
		p.digest = true
	}
	if len(p.entries) == 0 && ep.standalone() {
		// Nothing to export, but an image exporter without push still
		// reports the image's ID and keeps the build's result referenced.
		p.entries = append(p.entries, client.ExportEntry{Type: client.ExporterImage, Attrs: map[string]string{}})
	}
	if !ep.standalone() && len(p.entries) > 1 {
		return p, fmt.Errorf("%w: outputs: the Docker engine's embedded BuildKit exports to one destination per build (the engine, or one --output); give one, or pass --buildkit-addr to use a standalone buildkitd", driver.ErrUnsupported)
	}
	return p, nil
}

// addLoad plans the export into the Docker engine under req's tags.
func (p *exportPlan) addLoad(req driver.Request, ep endpoint, ld *loader) error {
	attrs := map[string]string{}
	if len(req.Tags) > 0 {
		attrs["name"] = strings.Join(req.Tags, ",")
	}
	if !ep.standalone() {
		// The engine's own BuildKit writes into the engine's image store.
		p.entries = append(p.entries, client.ExportEntry{Type: "moby", Attrs: attrs})
		p.engineStore = true
		return nil
	}
	if len(req.Platforms) > 1 {
		return fmt.Errorf("%w: platforms %v: the Docker engine cannot load a multi-platform image; pass --push or --output type=oci,dest=FILE", driver.ErrUnsupported, req.Platforms)
	}
	// The engine stores layers uncompressed: compressing them only to be
	// unpacked again halved the speed of local rebuilds when measured.
	attrs["compression"] = "uncompressed"
	p.entries = append(p.entries, client.ExportEntry{Type: client.ExporterDocker, Attrs: attrs, Output: ld.output})
	p.load = ld
	return nil
}

// engineCanHonour refuses the request fields that the engine's embedded
// BuildKit (Docker 20.10 and later) cannot honour.
func engineCanHonour(req driver.Request) error {
	const how = "pass --buildkit-addr to use a standalone buildkitd"
	if req.Push {
		return fmt.Errorf("%w: push: the Docker engine's embedded BuildKit cannot push; %s, or run docker push after the build", driver.ErrUnsupported, how)
	}
	if len(req.Platforms) > 1 {
		return fmt.Errorf("%w: platforms %v: the Docker engine's embedded BuildKit builds one platform at a time; %s", driver.ErrUnsupported, req.Platforms, how)
	}
	return nil
}

// outputEntry maps one --output onto an exporter.
func outputEntry(o driver.Output, ep endpoint) (client.ExportEntry, error) {
	attrs := maps.Clone(o.Attrs)
	if attrs == nil {
		attrs = map[string]string{}
	}
	dest := attrs["dest"]
	delete(attrs, "dest")
	switch o.Type {
	case client.ExporterLocal:
		if dest == "" {
			return client.ExportEntry{}, fmt.Errorf("%w: output type=local needs dest=DIR", driver.ErrInvalidRequest)
		}
		return client.ExportEntry{Type: o.Type, Attrs: attrs, OutputDir: dest}, nil
	case client.ExporterTar, client.ExporterOCI, client.ExporterDocker:
		if (o.Type == client.ExporterOCI || o.Type == client.ExporterDocker) && !ep.standalone() {
			return client.ExportEntry{}, fmt.Errorf("%w: output type=%s: the Docker engine's embedded BuildKit has no %s exporter; use type=local or type=tar, or pass --buildkit-addr to use a standalone buildkitd", driver.ErrUnsupported, o.Type, o.Type)
		}
		if dest == "" || dest == "-" {
			return client.ExportEntry{}, fmt.Errorf("%w: output type=%s needs dest=FILE", driver.ErrInvalidRequest, o.Type)
		}
		return client.ExportEntry{Type: o.Type, Attrs: attrs, Output: createFile(dest)}, nil
	case client.ExporterImage, "registry":
		if !ep.standalone() {
			return client.ExportEntry{}, fmt.Errorf("%w: output type=%s: the Docker engine's embedded BuildKit cannot push; pass --buildkit-addr to use a standalone buildkitd", driver.ErrUnsupported, o.Type)
		}
		if o.Type == "registry" {
			attrs["push"] = "true"
		}
		return client.ExportEntry{Type: client.ExporterImage, Attrs: attrs}, nil
	default:
		return client.ExportEntry{}, fmt.Errorf("%w: output type=%q (the buildkit driver takes oci, docker, tar, local, image or registry)", driver.ErrUnsupported, o.Type)
	}
}

// createFile is an exporter output that writes the archive to path.
func createFile(path string) func(map[string]string) (io.WriteCloser, error) {
	return func(map[string]string) (io.WriteCloser, error) {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("%w: output dest %q: %w", driver.ErrInvalidRequest, path, err)
		}
		return f, nil
	}
}
