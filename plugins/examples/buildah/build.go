package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/clirun"
)

// Build builds req with `buildah bud` and loads the image into the engine.
func (b *builder) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	start := time.Now()
	if err := b.validate(req); err != nil {
		return nil, err
	}
	if sink == nil {
		sink = driver.Discard
	}
	counter := &driver.StepCounter{Next: sink}
	// The plugin's TMPDIR is private: claude-bottle removes it whatever
	// happens to this process.
	tmp, err := os.MkdirTemp("", "claude-bottle-buildah-")
	if err != nil {
		return nil, fmt.Errorf("buildah: %w", err)
	}
	defer os.RemoveAll(tmp)
	secretArgs, err := writeSecrets(ctx, req, tmp)
	if err != nil {
		return nil, err
	}
	iidFile := filepath.Join(tmp, "iid")
	args := append(b.globalArgs(), "bud", "--isolation", b.isolation, "--layers", "--format", "docker", "--iidfile", iidFile, "-f", req.Dockerfile)
	args = append(append(args, secretArgs...), budArgs(req)...)
	args = append(args, req.ContextDir)
	b.log.Debug("running buildah", "args", args)
	out := newOutput(&clirun.Steps{Sink: counter})
	if err := b.run(ctx, args, out); err != nil {
		return nil, err
	}
	out.steps.Complete()
	id, err := os.ReadFile(iidFile)
	if err != nil {
		return nil, fmt.Errorf("%w: buildah wrote no image ID: %v", driver.ErrBuildFailed, err)
	}
	res := &driver.Result{ImageID: strings.TrimSpace(string(id)), Tags: req.Tags}
	if !req.NoLoad && len(req.Tags) > 0 {
		if err := b.load(ctx, res.ImageID, req.Tags, out); err != nil {
			return nil, err
		}
	}
	res.Steps = counter.Count()
	res.Duration = time.Since(start)
	return res, nil
}

// validate refuses what buildah (or this driver) cannot do, before any
// work. The Dockerfile needs no check: claude-bottle parses it before any
// driver runs.
func (b *builder) validate(req driver.Request) error {
	if err := req.Validate(); err != nil {
		return err
	}
	var unsupported []string
	if req.Push {
		unsupported = append(unsupported, "push")
	}
	if len(req.Outputs) > 0 {
		unsupported = append(unsupported, "outputs")
	}
	if len(req.CacheFrom)+len(req.CacheTo) > 0 {
		unsupported = append(unsupported, "cache import/export")
	}
	if len(req.NoCacheStages) > 0 {
		unsupported = append(unsupported, "per-stage no-cache")
	}
	if len(req.Platforms) > 1 {
		unsupported = append(unsupported, "more than one platform")
	}
	if len(unsupported) > 0 {
		return fmt.Errorf("%w: the buildah driver cannot do %s; use the buildkit driver for that", driver.ErrUnsupported, strings.Join(unsupported, ", "))
	}
	return nil
}

// budArgs maps the request's options onto `buildah bud` flags.
func budArgs(req driver.Request) []string {
	var args []string
	for _, t := range req.Tags {
		args = append(args, "-t", t)
	}
	for _, k := range sortedKeys(req.BuildArgs) {
		args = append(args, "--build-arg", k+"="+req.BuildArgs[k])
	}
	for _, k := range sortedKeys(req.Labels) {
		args = append(args, "--label", k+"="+req.Labels[k])
	}
	if req.Target != "" {
		args = append(args, "--target", req.Target)
	}
	if req.NoCache {
		args = append(args, "--no-cache")
	}
	if req.Pull {
		args = append(args, "--pull-always")
	}
	if len(req.Platforms) == 1 {
		args = append(args, "--platform", req.Platforms[0])
	}
	for _, s := range req.SSH {
		v := s.ID
		if len(s.Paths) > 0 {
			v += "=" + strings.Join(s.Paths, ",")
		}
		args = append(args, "--ssh", v)
	}
	return args
}

// writeSecrets fetches each secret from the request's source (across the
// plugin boundary, from claude-bottle) into a private file for buildah,
// which reads secrets from files only. The files live in tmp, which the
// build removes.
func writeSecrets(ctx context.Context, req driver.Request, tmp string) ([]string, error) {
	if len(req.Secrets) == 0 {
		return nil, nil
	}
	if req.SecretSource == nil {
		return nil, fmt.Errorf("%w: the build names secrets but has no secret source", driver.ErrInvalidRequest)
	}
	dir := filepath.Join(tmp, "secrets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	var args []string
	for i, s := range req.Secrets {
		v, err := req.SecretSource.Secret(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, v, 0o600); err != nil {
			return nil, fmt.Errorf("buildah: writing secret %q: %w", s.ID, err)
		}
		args = append(args, "--secret", "id="+s.ID+",src="+p)
	}
	return args, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
