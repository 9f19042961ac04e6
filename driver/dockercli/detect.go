package dockercli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Mode is the builder the docker CLI uses for a build.
type Mode string

// The builder modes, best first.
const (
	// ModeBuildx runs `docker buildx build --load`: BuildKit through the
	// buildx plugin and its current builder.
	ModeBuildx Mode = "buildx"
	// ModeBuildKit runs the classic `docker build` of a client older than
	// 23.0 with DOCKER_BUILDKIT=1: the engine's embedded BuildKit, reached by
	// the client's own BuildKit session, with secrets and plain progress.
	ModeBuildKit Mode = "buildkit"
	// ModeLegacy runs `docker build` with DOCKER_BUILDKIT=0: the engine's
	// legacy builder, with no secrets, no cache export and one platform.
	ModeLegacy Mode = "legacy"
)

// ParseMode parses a mode name as given in --driver-opt mode=NAME.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case ModeBuildx, ModeBuildKit, ModeLegacy:
		return m, nil
	}
	return "", fmt.Errorf("%w: docker driver mode %q is unknown (use %q, %q or %q)", driver.ErrInvalidRequest, s, ModeBuildx, ModeBuildKit, ModeLegacy)
}

// detectTimeout bounds each command of the detection, so a hung daemon
// cannot hang a build's start for ever.
const detectTimeout = 20 * time.Second

// detection is what the driver learnt about the CLI, once per Builder.
type detection struct {
	mode   Mode
	path   string // the docker binary, resolved on PATH
	client clientInfo
	// buildx is the plugin's version when present, else empty.
	buildx string
	// bxBuilder and bxDriver name buildx's current builder and its driver
	// ("docker", "docker-container", ...), which decide what it can do.
	bxBuilder, bxDriver string
}

// clientInfo is the client half of `docker version --format '{{json .Client}}'`.
type clientInfo struct {
	Version    string `json:"Version"`
	APIVersion string `json:"ApiVersion"`
}

// detect returns the cached detection, running it on the first call. A
// failed detection is not cached: the user may start the daemon or install
// the binary and try again with the same Builder.
func (b *Builder) detect(ctx context.Context) (*detection, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.det != nil {
		return b.det, nil
	}
	d, err := b.cachedOrRun(ctx)
	if err != nil {
		return nil, err
	}
	b.det = d
	return d, nil
}

// cachedOrRun returns the detection kept on disk by an earlier command when
// nothing it depends on changed, else runs it and keeps the result. The
// forced mode is checked against a kept detection as against a fresh one.
func (b *Builder) cachedOrRun(ctx context.Context) (*detection, error) {
	path, err := exec.LookPath(b.bin)
	if err != nil {
		return nil, b.notFound(err)
	}
	key := b.detectKey(path)
	if d, ok := loadDetection(key); ok {
		// The binary is the one just looked up (the key covers it), never a
		// path read from the cache file, which anyone who can write it could
		// point at another program.
		d.path = path
		if d.mode, err = chooseMode(b.forced, d); err == nil {
			return d, nil
		}
	}
	d, err := b.runDetection(ctx)
	if err != nil {
		return nil, err
	}
	if mode, err := chooseMode("", d); err == nil {
		kept := *d
		kept.mode = mode
		saveDetection(key, &kept)
	}
	return d, nil
}

func (b *Builder) runDetection(ctx context.Context) (*detection, error) {
	path, err := exec.LookPath(b.bin)
	if err != nil {
		return nil, b.notFound(err)
	}
	d := &detection{path: path}
	var (
		wg            sync.WaitGroup
		verOut, bxOut []byte
		verErr, bxErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		verOut, verErr = b.quick(ctx, path, "version", "--format", "{{json .Client}}")
	}()
	go func() { defer wg.Done(); bxOut, bxErr = b.quick(ctx, path, "buildx", "version") }()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, driver.Canceled(ctx, ctx.Err())
	}
	// docker version exits non-zero when the daemon is down but still
	// prints the client half, which is all detection needs.
	if err := json.Unmarshal(bytes.TrimSpace(verOut), &d.client); err != nil || d.client.Version == "" {
		return nil, fmt.Errorf("%w: %q does not answer `version` like a docker CLI (%v): point --docker-bin at Docker's CLI", driver.ErrUnsupported, path, errors.Join(verErr, err))
	}
	if bxErr == nil {
		d.buildx = buildxVersion(bxOut)
		out, err := b.quick(ctx, path, "buildx", "inspect")
		if err != nil && b.probe(ctx, path) != nil {
			return nil, fmt.Errorf("%w: docker cannot reach the engine at %s (%v): start the Docker daemon or point DOCKER_HOST at it", driver.ErrDaemonUnreachable, b.hostDesc(), err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: `%s buildx inspect` failed (%v): fix the current buildx builder (docker buildx ls) or pick another with BUILDX_BUILDER", driver.ErrUnsupported, path, err)
		}
		d.bxBuilder, d.bxDriver = parseInspect(out)
	}
	d.mode, err = chooseMode(b.forced, d)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// chooseMode picks the best builder the CLI offers, or checks that the
// forced one is offered.
func chooseMode(forced Mode, d *detection) (Mode, error) {
	best := ModeLegacy
	switch {
	case d.buildx != "":
		best = ModeBuildx
	case classicBuildKit(d.client.Version):
		best = ModeBuildKit
	}
	switch forced {
	case "":
		return best, nil
	case ModeLegacy:
		return forced, nil
	case ModeBuildx:
		if d.buildx == "" {
			return "", fmt.Errorf("%w: mode %q needs the buildx plugin, and `%s buildx version` fails: install docker-buildx into ~/.docker/cli-plugins or drop --driver-opt mode", driver.ErrUnsupported, forced, d.path)
		}
	case ModeBuildKit:
		if !classicBuildKit(d.client.Version) {
			return "", fmt.Errorf("%w: mode %q needs a docker client from 18.09 to 22.x whose `docker build` speaks BuildKit itself; %q is version %q: use mode %q or %q", driver.ErrUnsupported, forced, d.path, d.client.Version, ModeBuildx, ModeLegacy)
		}
	}
	return forced, nil
}

// classicBuildKit reports whether a client of version v builds with the
// engine's BuildKit itself under DOCKER_BUILDKIT=1. Clients from 18.09 carry
// their own BuildKit session code; from 23.0 on, `docker build` hands
// BuildKit builds to the buildx plugin and fails without it.
func classicBuildKit(v string) bool {
	major, minor, ok := parseVersion(v)
	if !ok {
		return false
	}
	return (major > 18 || major == 18 && minor >= 9) && major < 23
}

// parseVersion reads the major and minor numbers of a docker version such
// as "20.10.24+dfsg1", "28.2.2" or "18.09.1-ce".
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// buildxVersion picks the version out of `docker buildx version`
// ("github.com/docker/buildx v0.23.0 28c90ea"), for Info only.
func buildxVersion(out []byte) string {
	f := strings.Fields(string(out))
	if len(f) >= 2 {
		return f[1]
	}
	return "unknown"
}

// parseInspect reads the builder's name and driver from the header of
// `docker buildx inspect` ("Name: default", "Driver: docker").
func parseInspect(out []byte) (name, drv string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Name":
			if name == "" {
				name = strings.TrimSpace(v)
			}
		case "Driver":
			if drv == "" {
				drv = strings.TrimSpace(v)
			}
		}
	}
	return name, drv
}

// quick runs a short docker command with the detection timeout and returns
// its stdout; a failure carries the last lines of its stderr.
func (b *Builder) quick(ctx context.Context, path string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, detectTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = b.env("", nil)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", path, strings.Join(args, " "), err, lastLines(stderr.String(), 3))
	}
	return stdout.Bytes(), nil
}

// notFound explains a docker binary that cannot be found or run.
func (b *Builder) notFound(err error) error {
	return fmt.Errorf("%w: docker CLI %q cannot be run (%v): install Docker's CLI, or point --docker-bin at it", driver.ErrNotFound, b.bin, err)
}

// lastLines returns the last n non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
