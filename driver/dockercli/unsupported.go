package dockercli

import (
	"fmt"

	"github.com/claude-bottle/claude-bottle/driver"
)

// unsupported is the error for a request field that the builder of mode
// cannot honour: it names the field, the builder and a way out.
func unsupported(mode Mode, field, why string) error {
	return fmt.Errorf("%w: %s: %s cannot honour it (%s): drop it, use a builder that can (buildx, or --driver buildkit), or see `claude-bottle drivers --driver docker`",
		driver.ErrUnsupported, field, describeMode(mode), why)
}

// describeMode names a mode for messages.
func describeMode(m Mode) string {
	switch m {
	case ModeBuildx:
		return "docker buildx"
	case ModeBuildKit:
		return "the engine's BuildKit through the classic docker build"
	default:
		return "the legacy docker builder (DOCKER_BUILDKIT=0)"
	}
}

// unsupportedFields refuses, field by field, what the mode cannot do.
func unsupportedFields(p plan, req driver.Request) error {
	checks := []func(plan, driver.Request) error{checkLegacy, checkClassic, checkBuildx, checkCache}
	for _, c := range checks {
		if err := c(p, req); err != nil {
			return err
		}
	}
	return nil
}

// checkLegacy refuses what only BuildKit can do.
func checkLegacy(p plan, req driver.Request) error {
	if p.mode != ModeLegacy {
		return nil
	}
	switch {
	case len(req.Secrets) > 0:
		return unsupported(p.mode, "secrets", "the legacy builder has no secret mounts; a build arg would leak the value into the image history")
	case len(req.SSH) > 0:
		return unsupported(p.mode, "ssh", "the legacy builder has no SSH forwarding")
	case ignoreFile(req) != "":
		return unsupported(p.mode, fmt.Sprintf("per-Dockerfile ignore file %q", ignoreFile(req)), "the legacy builder reads only the context's .dockerignore")
	}
	return nil
}

// checkClassic refuses what the classic docker build (legacy or BuildKit)
// has no flag for.
func checkClassic(p plan, req driver.Request) error {
	if p.mode == ModeBuildx {
		return nil
	}
	switch {
	case len(req.NoCacheStages) > 0:
		return unsupported(p.mode, "no-cache-filter", "docker build has no --no-cache-filter; --no-cache disables the cache for every stage")
	case req.Push:
		return unsupported(p.mode, "push", "docker build cannot push; run docker push after the build")
	case len(req.Outputs) > 0 && !onlyLoads(req.Outputs):
		return unsupported(p.mode, "outputs", "this builder only loads into the engine")
	case req.NoLoad:
		return unsupported(p.mode, "no-load", "this builder always stores the image in the engine")
	case len(req.Platforms) > 1:
		return unsupported(p.mode, "platforms", fmt.Sprintf("%d platforms were asked for and the engine's image store holds one", len(req.Platforms)))
	}
	return nil
}

// checkBuildx refuses what buildx's current builder cannot do.
func checkBuildx(p plan, req driver.Request) error {
	if p.mode != ModeBuildx || len(req.Platforms) <= 1 {
		return nil
	}
	if p.bxDriver == "docker" {
		return unsupported(p.mode, "platforms", "buildx's docker driver builds one platform; create a docker-container builder (docker buildx create --use)")
	}
	if req.Loads() {
		return unsupported(p.mode, "platforms", "a multi-platform image cannot be loaded into the engine's image store; push it or give an output")
	}
	return nil
}

// checkCache refuses cache imports and exports the mode cannot do.
func checkCache(p plan, req driver.Request) error {
	for _, c := range req.CacheFrom {
		if p.mode != ModeBuildx && (c.Type != "registry" || len(c.Attrs) != 1 || c.Attrs["ref"] == "") {
			return unsupported(p.mode, "cache-from type="+c.Type, "docker build takes only image references (type=registry,ref=IMAGE)")
		}
	}
	for _, c := range req.CacheTo {
		switch {
		case p.mode == ModeLegacy:
			return unsupported(p.mode, "cache-to type="+c.Type, "the legacy builder exports no cache")
		case (p.mode == ModeBuildKit || p.bxDriver == "docker") && (c.Type != "inline" || len(c.Attrs) > 0):
			return unsupported(p.mode, "cache-to type="+c.Type, "this builder exports inline cache only (type=inline); a docker-container buildx builder exports the others")
		}
	}
	return nil
}

// onlyLoads reports whether every output is the engine load
// (driver.LoadOutput), which the classic builder always does.
func onlyLoads(outs []driver.Output) bool {
	for _, o := range outs {
		if !o.Loads() {
			return false
		}
	}
	return true
}
