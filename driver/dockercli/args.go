package dockercli

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// plan is what one build's command line is made from besides the request:
// the detected builder and the temporary files of this build.
type plan struct {
	mode Mode
	// bxDriver is buildx's builder driver ("docker", "docker-container").
	bxDriver string
	// rawJSON selects --progress=rawjson in buildx mode (buildx >= 0.12).
	rawJSON  bool
	iidFile  string
	metaFile string
	secrets  []secretRef
	// stdinContext sends the context on docker's stdin (see sentContext)
	// instead of naming the folder: legacy mode with an outside Dockerfile.
	stdinContext bool
}

// secretRef is how one secret reaches the CLI: through a variable set only
// in the child's environment, or through a 0600 temporary file.
type secretRef struct {
	id, env, src string
}

// buildArgs turns req into the docker command line for p. A field the
// builder cannot honour is an error naming the field, never dropped.
func buildArgs(p plan, req driver.Request) ([]string, error) {
	if err := unsupportedFields(p, req); err != nil {
		return nil, err
	}
	dockerfile, err := filepath.Abs(req.Dockerfile)
	if err != nil {
		return nil, fmt.Errorf("%w: Dockerfile %q: %v", driver.ErrInvalidRequest, req.Dockerfile, err)
	}
	contextDir, err := filepath.Abs(req.ContextDir)
	if err != nil {
		return nil, fmt.Errorf("%w: build context %q: %v", driver.ErrInvalidRequest, req.ContextDir, err)
	}
	if p.stdinContext {
		dockerfile, contextDir = contextDockerfile, "-"
	}
	a := head(p, req)
	a = append(a, "-f", dockerfile)
	for _, t := range req.Tags {
		a = append(a, "-t", t)
	}
	a = appendPairs(a, "--build-arg", req.BuildArgs)
	if p.mode == ModeBuildKit && hasCache(req.CacheTo, "inline") {
		// The classic client has no --cache-to: inline cache is asked for
		// with this build argument, which BuildKit reads.
		a = append(a, "--build-arg", "BUILDKIT_INLINE_CACHE=1")
	}
	if req.Target != "" {
		a = append(a, "--target", req.Target)
	}
	a = appendPairs(a, "--label", req.Labels)
	if req.NoCache {
		a = append(a, "--no-cache")
	}
	if len(req.NoCacheStages) > 0 {
		a = append(a, "--no-cache-filter", strings.Join(req.NoCacheStages, ","))
	}
	if req.Pull {
		a = append(a, "--pull")
	}
	if len(req.Platforms) > 0 {
		a = append(a, "--platform", strings.Join(req.Platforms, ","))
	}
	a = append(a, cacheArgs(p, req)...)
	for _, s := range p.secrets {
		if s.env != "" {
			a = append(a, "--secret", "id="+s.id+",env="+s.env)
		} else {
			a = append(a, "--secret", "id="+s.id+",src="+s.src)
		}
	}
	for _, s := range req.SSH {
		v := s.ID
		if len(s.Paths) > 0 {
			v += "=" + strings.Join(s.Paths, ",")
		}
		a = append(a, "--ssh", v)
	}
	for _, o := range req.Outputs {
		if o.Loads() {
			continue // --load, in head
		}
		a = append(a, "--output", csvLine(o.Type, o.Attrs))
	}
	return append(a, contextDir), nil
}

// head is the command and the flags that are fixed per mode: where the
// image ID and progress go, and whether the image is loaded.
func head(p plan, req driver.Request) []string {
	switch p.mode {
	case ModeBuildx:
		progress := "--progress=plain"
		if p.rawJSON {
			progress = "--progress=rawjson"
		}
		a := []string{"buildx", "build", progress, "--iidfile", p.iidFile, "--metadata-file", p.metaFile}
		// The docker driver's image exporter stores into the engine and
		// pushes from there, and its old engines refuse --load with
		// --push as two outputs: --push alone does both.
		load := req.Loads() && !(req.Push && p.bxDriver == "docker")
		if load {
			a = append(a, "--load")
		}
		if req.Push {
			a = append(a, "--push")
		}
		return a
	case ModeBuildKit:
		return []string{"build", "--progress=plain", "--iidfile", p.iidFile}
	default:
		// --force-rm: the legacy builder keeps a failed step's container
		// otherwise, one stopped container left per failed build.
		return []string{"build", "--force-rm", "--iidfile", p.iidFile}
	}
}

// cacheArgs are the --cache-from and --cache-to flags; unsupportedFields has
// already refused what the mode cannot do.
func cacheArgs(p plan, req driver.Request) []string {
	var a []string
	for _, c := range req.CacheFrom {
		if p.mode == ModeBuildx {
			a = append(a, "--cache-from", csvLine(c.Type, c.Attrs))
		} else {
			a = append(a, "--cache-from", c.Attrs["ref"])
		}
	}
	if p.mode == ModeBuildx {
		for _, c := range req.CacheTo {
			a = append(a, "--cache-to", csvLine(c.Type, c.Attrs))
		}
	}
	return a
}

// appendPairs appends flag K=V for each pair of m, sorted by key so that
// the command line is the same from run to run.
func appendPairs(a []string, flag string, m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a = append(a, flag, k+"="+m[k])
	}
	return a
}

// csvLine renders "type=T,k=v,..." the way buildx parses it (as CSV, so a
// value holding a comma is quoted).
func csvLine(typ string, attrs map[string]string) string {
	fields := []string{"type=" + typ}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, k+"="+attrs[k])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(fields) // writing to a bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimSuffix(buf.String(), "\n")
}

func hasCache(specs []driver.CacheSpec, typ string) bool {
	for _, c := range specs {
		if c.Type == typ {
			return true
		}
	}
	return false
}

// ignoreFile returns the per-Dockerfile ignore file of req
// (<Dockerfile>.dockerignore) when it exists, else "".
func ignoreFile(req driver.Request) string {
	p := req.Dockerfile + ".dockerignore"
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}
