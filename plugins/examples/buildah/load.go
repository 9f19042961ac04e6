package main

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/driver"
)

// engine connects to the Docker engine the host chose.
func (b *builder) engine() (*client.Client, error) {
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if b.dockerHost != "" {
		opts = append(opts, client.WithHost(b.dockerHost))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: Docker engine: %v", driver.ErrDaemonUnreachable, err)
	}
	return cli, nil
}

func (b *builder) pingEngine(ctx context.Context) error {
	cli, err := b.engine()
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("%w: the Docker engine does not answer (%v); start it or set --docker-host", driver.ErrDaemonUnreachable, err)
	}
	return nil
}

// load puts image id into the engine under tags. When the engine already
// holds the image (its ID is the image's config digest, so the same
// build gives the same ID), tagging is enough; else the first tag is
// pushed with buildah's docker-daemon transport and the rest tagged.
func (b *builder) load(ctx context.Context, id string, tags []string, out *output) error {
	out.steps.Start("load", "loading into the Docker engine as "+strings.Join(tags, ", "))
	cli, err := b.engine()
	if err != nil {
		return err
	}
	defer cli.Close()
	rest := tags
	if _, err := cli.ImageInspect(ctx, id); cerrdefs.IsNotFound(err) {
		args := append(b.globalArgs(), "push", id, "docker-daemon:"+withTag(tags[0]))
		if err := b.run(ctx, args, out); err != nil {
			return err
		}
		rest = tags[1:]
	} else if err != nil {
		out.steps.Fail(err.Error())
		return fmt.Errorf("%w: asking the Docker engine for image %s: %v", driver.ErrDaemonUnreachable, id, err)
	}
	for _, t := range rest {
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: id, Target: withTag(t)}); err != nil {
			out.steps.Fail(err.Error())
			return fmt.Errorf("%w: tagging %s as %q in the Docker engine: %v", driver.ErrBuildFailed, id, t, err)
		}
	}
	out.steps.Complete()
	return nil
}

// withTag adds ":latest" to a reference without a tag, which the
// docker-daemon transport requires.
func withTag(ref string) string {
	last := ref[strings.LastIndex(ref, "/")+1:]
	if strings.Contains(last, ":") || strings.Contains(last, "@") {
		return ref
	}
	return ref + ":latest"
}
