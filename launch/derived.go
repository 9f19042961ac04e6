package launch

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"

	"github.com/claude-bottle/claude-bottle/bottle"
)

// DerivedDockerfile returns the Dockerfile of the image layered on base for
// the host folder cwd: the folder is created (WORKDIR makes it, so no shell
// is needed in the base) and labelled with its host path. CheckCwd has
// refused a cwd with a control character, which no quoting could carry.
func DerivedDockerfile(base, cwd string) string {
	q := quoteWord(cwd)
	return fmt.Sprintf("FROM %s\nWORKDIR %s\nLABEL %s=%s\n", base, q, bottle.CwdLabel, q)
}

// quoteWord quotes s as one word for WORKDIR and LABEL. Docker runs their
// words through its shell-like lexer, which expands $VAR even inside
// double quotes; there only \, " and $ are special, and a backslash makes
// each of them literal.
func quoteWord(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '\\' || r == '"' || r == '$' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// BuildDerived builds the derived image for cwd on base as tag, with the
// engine's own builder and an in-memory context: the base is already in the
// engine whichever driver built it, and the derived layer has no RUN, so
// this takes milliseconds and sends no context.
func BuildDerived(ctx context.Context, cli *client.Client, base, cwd, tag string) (string, error) {
	ctxTar, err := dockerfileTar(DerivedDockerfile(base, cwd))
	if err != nil {
		return "", err
	}
	res, err := cli.ImageBuild(ctx, ctxTar, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true,
		Version: build.BuilderV1, Dockerfile: "Dockerfile",
	})
	if err != nil {
		return "", engineError("building the derived image "+tag, err)
	}
	defer res.Body.Close()
	if err := readBuildStream(res.Body); err != nil {
		return "", fmt.Errorf("building the derived image %s on %s: %w", tag, base, err)
	}
	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		return "", engineError("inspecting "+tag, err)
	}
	return img.ID, nil
}

func dockerfileTar(dockerfile string) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))}); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(tw, dockerfile); err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}

// readBuildStream drains the engine's JSON build stream and returns the
// error it reports, if any.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if msg.Error != "" {
			return fmt.Errorf("%s", strings.TrimSpace(msg.Error))
		}
	}
}
