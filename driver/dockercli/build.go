package dockercli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Build runs one docker build of req and returns the image it made. The
// image ID comes from --iidfile, never from docker's text.
func (b *Builder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	start := time.Now()
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := driver.CheckExposure(b.cfg, req); err != nil {
		return nil, err
	}
	d, err := b.detect(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "claude-bottle-docker-")
	if err != nil {
		return nil, fmt.Errorf("making a temporary folder for the build's image ID file: %w", err)
	}
	defer os.RemoveAll(tmp)
	p, args, env, err := b.command(ctx, d, req, tmp)
	if err != nil {
		return nil, err
	}
	if sink == nil {
		sink = driver.Discard
	}
	counter := &driver.StepCounter{Next: sink}
	t := newTail(15)
	pr := newProgress(newParser(p, t), t, counter)
	var stdin io.ReadCloser
	if p.stdinContext {
		if stdin, err = sentContext(req); err != nil {
			return nil, err
		}
	}
	b.cfg.Log().Debug("running docker", "bin", d.path, "mode", d.mode, "args", args)
	runErr := run(ctx, d.path, args, env, stdin, pr, b.grace)
	pr.finish(runErr != nil)
	var sendErr *contextSendError
	if errors.As(runErr, &sendErr) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: sending the build context %q to docker: %w: check that its files stay readable during the build", driver.ErrInvalidRequest, req.ContextDir, sendErr.err)
	}
	if runErr != nil {
		return nil, b.classify(ctx, d, req, pr, runErr)
	}
	return b.result(d, req, p, counter, start)
}

// command checks req against the detected builder and makes the docker
// command line and environment of its build, with the build's temporary
// files (image ID, metadata, secret files) in tmp.
func (b *Builder) command(ctx context.Context, d *detection, req driver.Request, tmp string) (plan, []string, []string, error) {
	p := plan{mode: d.mode, bxDriver: d.bxDriver, rawJSON: rawJSONCapable(d.buildx)}
	if err := unsupportedFields(p, req); err != nil {
		return p, nil, nil, err
	}
	if err := checkDockerfile(d.mode, req); err != nil {
		return p, nil, nil, err
	}
	if d.mode == ModeLegacy {
		outside, err := outsideContext(req)
		if err != nil {
			return p, nil, nil, err
		}
		p.stdinContext = outside
	}
	p.iidFile, p.metaFile = filepath.Join(tmp, "iid"), filepath.Join(tmp, "metadata.json")
	secrets, secretEnv, err := prepareSecrets(ctx, req, tmp)
	if err != nil {
		return p, nil, nil, err
	}
	p.secrets = secrets
	args, err := buildArgs(p, req)
	if err != nil {
		return p, nil, nil, err
	}
	return p, args, b.env(d.mode, secretEnv), nil
}

// newParser picks the parser of the output format p's command produces.
func newParser(p plan, t *tail) lineParser {
	switch {
	case p.mode == ModeLegacy:
		return newLegacyParser(t)
	case p.mode == ModeBuildx && p.rawJSON:
		return newRawJSONParser(t)
	default:
		return newPlainParser(t)
	}
}

// rawJSONCapable reports whether buildx of version v has
// --progress=rawjson, which came in v0.12. A development build
// ("v0.0.0+unknown") is taken to be recent.
func rawJSONCapable(v string) bool {
	major, minor, ok := parseVersion(v)
	if !ok || major == 0 && minor == 0 {
		return true
	}
	return major > 0 || minor >= 12
}

// result reads what docker left in the build's files.
func (b *Builder) result(d *detection, req driver.Request, p plan, counter *driver.StepCounter, start time.Time) (*driver.Result, error) {
	res := &driver.Result{
		Tags:     req.Tags,
		Steps:    counter.Count(),
		Metadata: map[string]string{"docker.mode": string(d.mode)},
	}
	id, err := os.ReadFile(p.iidFile)
	switch {
	case err == nil:
		res.ImageID = strings.TrimSpace(string(id))
	case errors.Is(err, fs.ErrNotExist) && (!req.Loads() || !onlyLoads(req.Outputs)):
		// An export to a folder or tarball makes no image ID.
	default:
		return nil, fmt.Errorf("%w: docker succeeded but left no image ID in --iidfile (%v): is %q a docker CLI?", driver.ErrBuildFailed, err, d.path)
	}
	if p.mode == ModeBuildx {
		readMetadata(p.metaFile, res)
		if req.Push || !onlyLoads(req.Outputs) {
			// Pushed or exported, this is the manifest's digest; loaded
			// only, the engine's exporter puts the image ID there instead.
			res.Digest = res.Metadata["containerimage.digest"]
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// readMetadata copies the string values of buildx's --metadata-file into
// res.Metadata.
func readMetadata(path string, res *driver.Result) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return
	}
	for k, v := range m {
		if s, ok := v.(string); ok {
			res.Metadata[k] = s
		}
	}
}
