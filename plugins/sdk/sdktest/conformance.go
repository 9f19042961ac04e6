package sdktest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

// Options opt a driver into the conformance checks that build.
type Options struct {
	// Base starts every Dockerfile the checks build: lines that give a
	// shell with sh, sleep, cat, cut and sha256sum, as busybox does (for
	// example "FROM busybox", or "FROM scratch", a COPY of a static
	// busybox and a RUN of its --install). Empty skips every check that
	// builds: progress, image ID, two builds at once, cancel, deadline,
	// secrets.
	Base string
	// Files are put into every build's context for Base: name -> content.
	Files map[string][]byte
	// Request, if set, adjusts each request the checks build. By default
	// they carry one tag, sdktest-conformance:RANDOM, and NoLoad.
	Request func(*driver.Request)
	// Within bounds how soon after a cancel or a deadline Build must
	// return; default 5 s.
	Within time.Duration
	// Deadline is the deadline of the deadline check's build, which runs
	// a RUN sleep 60; default 3 s.
	Deadline time.Duration
}

func (o Options) withDefaults() Options {
	if o.Within <= 0 {
		o.Within = 5 * time.Second
	}
	if o.Deadline <= 0 {
		o.Deadline = 3 * time.Second
	}
	return o
}

// Conformance checks what claude-bottle needs of every driver, through
// the plugin protocol (InProcess) and, where the protocol would hide the
// driver's own behaviour (progress after Build returns), on the Builder
// p.New makes with cfg. Every driver must:
//
//   - describe itself (Info with a name and a version), and answer Check
//     with nil or a classed error;
//   - refuse a malformed request with driver.ErrInvalidRequest, and a
//     request using a feature it does not declare in Info.Features with
//     driver.ErrUnsupported.
//
// With Options.Base, real builds check that it:
//
//   - sends steps with their start (and a start no later than their end),
//     and nothing after Build returns;
//   - returns an image ID of the form sha256:<64 hex digits>;
//   - builds two requests at once;
//   - returns driver.ErrCanceled within Options.Within of a cancel, or of
//     a deadline (then also context.DeadlineExceeded);
//   - if it declares driver.FeatureSecrets: gives the secret to the RUN
//     that mounts it, and never puts its value in a process's arguments or
//     environment.
func Conformance(t *testing.T, p sdk.Plugin, cfg driver.Config, o Options) {
	t.Helper()
	o = o.withDefaults()
	b := InProcess(t, p, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	t.Run("describes itself", func(t *testing.T) { checkDescribe(t, b, info) })
	t.Run("refuses an invalid request", func(t *testing.T) { checkInvalid(t, b) })
	t.Run("refuses what it does not declare", func(t *testing.T) { checkUndeclared(t, b, info) })
	c := &conformance{o: o, protocol: b, info: info}
	for _, check := range []struct {
		name string
		run  func(*testing.T)
		need driver.Feature // "" for none
	}{
		{"builds with its progress in order", func(t *testing.T) { c.checkBuild(t, direct(t, p, cfg)) }, ""},
		{"two builds at once", c.checkTwoAtOnce, ""},
		{"cancel", c.checkCancel, ""},
		{"deadline", c.checkDeadline, ""},
		{"secrets never in arguments", c.checkSecrets, driver.FeatureSecrets},
	} {
		t.Run(check.name, func(t *testing.T) {
			switch {
			case o.Base == "":
				t.Skip("Options.Base is empty: checks that build are skipped")
			case check.need != "" && !info.Supports(check.need):
				t.Skipf("the driver does not declare %s", check.need)
			}
			check.run(t)
		})
	}
}

// direct makes the driver's own Builder, closed when t ends.
func direct(t *testing.T, p sdk.Plugin, cfg driver.Config) driver.Builder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := p.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if c, ok := b.(driver.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return b
}

func checkDescribe(t *testing.T, b driver.Builder, info driver.Info) {
	if info.Name == "" || info.Version == "" {
		t.Errorf("Info = %+v: a driver must give its name and version", info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Check(ctx); err != nil && !classed(err) {
		t.Errorf("Check failed with an unclassed error (wrap a driver.Err* class): %v", err)
	}
}

func checkInvalid(t *testing.T, b driver.Builder) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := b.Build(ctx, driver.Request{}, nil)
	if !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("Build of an empty request = %v; want driver.ErrInvalidRequest (call req.Validate first)", err)
	}
}

// featureFields sets, for each feature, the request field that needs it.
var featureFields = []struct {
	feature driver.Feature
	field   string
	set     func(r *driver.Request, dir string)
}{
	{driver.FeatureSecrets, "Secrets", func(r *driver.Request, _ string) {
		r.Secrets, r.SecretSource = []driver.SecretSpec{{ID: "sdktest"}}, secretMap{"sdktest": "x"}
	}},
	{driver.FeatureSSH, "SSH", func(r *driver.Request, _ string) { r.SSH = []driver.SSHSpec{{ID: "default"}} }},
	{driver.FeatureCacheExport, "CacheTo", func(r *driver.Request, dir string) {
		r.CacheTo = []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": filepath.Join(dir, "cache")}}}
	}},
	{driver.FeatureCacheImport, "CacheFrom", func(r *driver.Request, dir string) {
		r.CacheFrom = []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"src": filepath.Join(dir, "cache")}}}
	}},
	{driver.FeaturePush, "Push", func(r *driver.Request, _ string) { r.Push = true }},
	{driver.FeatureMultiPlatform, "Platforms", func(r *driver.Request, _ string) { r.Platforms = []string{"linux/amd64", "linux/arm64"} }},
	{driver.FeatureOutputs, "Outputs", func(r *driver.Request, dir string) {
		r.Outputs = []driver.Output{{Type: "local", Attrs: map[string]string{"dest": filepath.Join(dir, "out")}}}
	}},
	{driver.FeatureNoCacheFilter, "NoCacheStages", func(r *driver.Request, _ string) { r.NoCacheStages = []string{"base"} }},
}

func checkUndeclared(t *testing.T, b driver.Builder, info driver.Info) {
	for _, f := range featureFields {
		if info.Supports(f.feature) {
			continue
		}
		t.Run(string(f.feature), func(t *testing.T) {
			dir := t.TempDir()
			df := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(df, []byte("FROM scratch\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			req := driver.Request{Dockerfile: df, ContextDir: dir, Tags: []string{"sdktest-conformance.invalid/undeclared:1"}, NoLoad: true}
			f.set(&req, dir)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := b.Build(ctx, req, nil); !errors.Is(err, driver.ErrUnsupported) {
				t.Errorf("Build with %s, which needs %s that Info does not declare = %v; want driver.ErrUnsupported", f.field, f.feature, err)
			}
		})
	}
}

func classed(err error) bool {
	for _, c := range []error{driver.ErrDaemonUnreachable, driver.ErrInvalidDockerfile, driver.ErrInvalidRequest,
		driver.ErrUnsupported, driver.ErrCanceled, driver.ErrBuildFailed, driver.ErrNotFound} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}

// secretMap is a SecretSource over a map.
type secretMap map[string]string

func (s secretMap) Secret(_ context.Context, id string) ([]byte, error) {
	if v, ok := s[id]; ok {
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%w: no secret %q in this test", driver.ErrNotFound, id)
}
