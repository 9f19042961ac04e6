package dockercli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestChildEnv(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin", "HOME=/root", "DOCKER_HOST=tcp://user:2375", "DOCKER_CONTEXT=remote", "DOCKER_CONFIG=/cfg",
		"DOCKER_BUILDKIT=1", "BUILDX_BUILDER=b1", "SSH_AUTH_SOCK=/s", "AWS_SECRET_ACCESS_KEY=leak", "GITHUB_TOKEN=leak",
		"CLAUDE_BOTTLE_SECRET_0=stale", "http_proxy=http://p",
	}
	tests := []struct {
		name  string
		host  string
		mode  Mode
		extra []string
		want  []string
	}{
		// Over plain TCP (no DOCKER_TLS_VERIFY) the user's config, with
		// its registry credentials, is not handed to the CLI.
		{name: "legacy keeps the user's docker setup but its credentials", mode: ModeLegacy, want: []string{
			"BUILDX_BUILDER=b1", "DOCKER_BUILDKIT=0", "DOCKER_CLI_HINTS=false", "DOCKER_CONFIG=" + noCredentialsConfig, "DOCKER_CONTEXT=remote",
			"DOCKER_HOST=tcp://user:2375", "HOME=/root", "PATH=/usr/bin", "SSH_AUTH_SOCK=/s", "http_proxy=http://p"}},
		{name: "config host overrides DOCKER_HOST and DOCKER_CONTEXT", host: "unix:///x.sock", mode: ModeBuildx, extra: []string{"CLAUDE_BOTTLE_SECRET_0=v"}, want: []string{
			"BUILDX_BUILDER=b1", "CLAUDE_BOTTLE_SECRET_0=v", "DOCKER_BUILDKIT=1", "DOCKER_CLI_HINTS=false", "DOCKER_CONFIG=/cfg",
			"DOCKER_HOST=unix:///x.sock", "HOME=/root", "PATH=/usr/bin", "SSH_AUTH_SOCK=/s", "http_proxy=http://p"}},
		{name: "detection leaves DOCKER_BUILDKIT unset", mode: "", want: []string{
			"BUILDX_BUILDER=b1", "DOCKER_CLI_HINTS=false", "DOCKER_CONFIG=" + noCredentialsConfig, "DOCKER_CONTEXT=remote",
			"DOCKER_HOST=tcp://user:2375", "HOME=/root", "PATH=/usr/bin", "SSH_AUTH_SOCK=/s", "http_proxy=http://p"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := childEnv(parent, tc.host, tc.mode, tc.extra)
			if !slices.Equal(got, tc.want) {
				t.Errorf("env:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestChooseMode(t *testing.T) {
	tests := []struct {
		client, buildx string
		forced         Mode
		want           Mode
		wantErr        bool
	}{
		{client: "28.2.2", want: ModeLegacy},
		{client: "28.2.2", buildx: "v0.23.0", want: ModeBuildx},
		{client: "20.10.24+dfsg1", want: ModeBuildKit},
		{client: "20.10.24+dfsg1", buildx: "v0.23.0", want: ModeBuildx},
		{client: "18.09.1-ce", want: ModeBuildKit},
		{client: "18.06.3-ce", want: ModeLegacy},
		{client: "23.0.0", want: ModeLegacy},
		{client: "20.10.24", buildx: "v0.23.0", forced: ModeLegacy, want: ModeLegacy},
		{client: "20.10.24", buildx: "v0.23.0", forced: ModeBuildKit, want: ModeBuildKit},
		{client: "28.2.2", forced: ModeBuildKit, wantErr: true},
		{client: "28.2.2", forced: ModeBuildx, wantErr: true},
	}
	for _, tc := range tests {
		d := &detection{client: clientInfo{Version: tc.client}, buildx: tc.buildx, path: "/bin/docker"}
		got, err := chooseMode(tc.forced, d)
		if tc.wantErr {
			if !errors.Is(err, driver.ErrUnsupported) {
				t.Errorf("%s buildx=%q forced=%q: err = %v, want ErrUnsupported", tc.client, tc.buildx, tc.forced, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s buildx=%q forced=%q: got %q, %v; want %q", tc.client, tc.buildx, tc.forced, got, err, tc.want)
		}
	}
}

func TestParseInspect(t *testing.T) {
	out := "Name:   default\nDriver: docker\n\nNodes:\nName:             default\nEndpoint:         default\nDriver: other\n"
	if name, drv := parseInspect([]byte(out)); name != "default" || drv != "docker" {
		t.Errorf("parseInspect = %q, %q", name, drv)
	}
	if v := buildxVersion([]byte("github.com/docker/buildx v0.23.0 28c90ea\n")); v != "v0.23.0" {
		t.Errorf("buildxVersion = %q", v)
	}
	for v, want := range map[string]bool{"v0.23.0": true, "v0.11.2": false, "v0.12.0": true, "v0.0.0+unknown": true, "v1.0.0": true} {
		if got := rawJSONCapable(v); got != want {
			t.Errorf("rawJSONCapable(%q) = %v", v, got)
		}
	}
}

func TestNewNeedsNoDocker(t *testing.T) {
	b, err := New(context.Background(), driver.Config{DockerBin: "/nonexistent/docker"})
	if err != nil {
		t.Fatalf("New ran something or refused a missing binary: %v", err)
	}
	err = b.Check(context.Background())
	if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), "/nonexistent/docker") || !strings.Contains(err.Error(), "--docker-bin") {
		t.Errorf("Check = %v, want ErrNotFound naming the binary and --docker-bin", err)
	}
	if _, err := New(context.Background(), driver.Config{Opts: map[string]string{"mode": "turbo"}}); !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := New(context.Background(), driver.Config{Opts: map[string]string{"colour": "x"}}); !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("unknown option: %v", err)
	}
	f, err := driver.Lookup(Name)
	if err != nil || f.Priority != 10 {
		t.Errorf("registered factory: %+v, %v", f, err)
	}
}

func TestCheckDockerfile(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) driver.Request {
		p := filepath.Join(dir, "Dockerfile")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return driver.Request{Dockerfile: p, ContextDir: dir}
	}
	tests := []struct {
		name, body, target string
		mode               Mode
		want               error
		naming             string
	}{
		{name: "fine", body: "FROM scratch AS base\nCOPY --from=base --chown=1:1 a /a\n", mode: ModeLegacy},
		{name: "unknown instruction", body: "FROM scratch\nCOPZ a b\n", mode: ModeBuildx, want: driver.ErrInvalidDockerfile, naming: "unknown instruction: COPZ"},
		{name: "empty", body: "# nothing\n", mode: ModeBuildx, want: driver.ErrInvalidDockerfile, naming: "no instructions"},
		{name: "no FROM", body: "ARG X=1\n", mode: ModeBuildx, want: driver.ErrInvalidDockerfile, naming: "no FROM"},
		{name: "target found regardless of case", body: "FROM scratch AS Final\n", target: "final", mode: ModeBuildx},
		{name: "unknown target", body: "FROM scratch AS a\n", target: "b", mode: ModeBuildx, want: driver.ErrInvalidRequest, naming: `"b"`},
		{name: "legacy RUN --mount", body: "FROM scratch\nRUN --mount=type=secret,id=x true\n", mode: ModeLegacy, want: driver.ErrUnsupported, naming: `"--mount" of RUN on line 2`},
		{name: "buildkit RUN --mount", body: "FROM scratch\nRUN --mount=type=secret,id=x true\n", mode: ModeBuildKit},
		{name: "legacy heredoc", body: "FROM scratch\nRUN <<EOF\necho hi\nEOF\n", mode: ModeLegacy, want: driver.ErrUnsupported, naming: "heredoc in RUN on line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := write(tc.body)
			req.Target = tc.target
			err := checkDockerfile(tc.mode, req)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.naming) {
				t.Errorf("err = %v, want %v naming %q", err, tc.want, tc.naming)
			}
		})
	}
}

type mapSecrets map[string]string

func (m mapSecrets) Secret(_ context.Context, id string) ([]byte, error) {
	v, ok := m[id]
	if !ok {
		return nil, driver.ErrNotFound
	}
	return []byte(v), nil
}

func TestPrepareSecrets(t *testing.T) {
	dir := t.TempDir()
	req := driver.Request{
		Secrets:      []driver.SecretSpec{{ID: "tok"}, {ID: "bin"}},
		SecretSource: mapSecrets{"tok": "s3cr3t", "bin": "a\x00b"},
	}
	refs, env, err := prepareSecrets(context.Background(), req, dir)
	if err != nil {
		t.Fatal(err)
	}
	if refs[0] != (secretRef{id: "tok", env: "CLAUDE_BOTTLE_SECRET_0"}) || !slices.Equal(env, []string{"CLAUDE_BOTTLE_SECRET_0=s3cr3t"}) {
		t.Errorf("env secret: %+v %q", refs[0], env)
	}
	if refs[1].id != "bin" || refs[1].src == "" {
		t.Fatalf("a NUL byte cannot go in the environment; want a file: %+v", refs[1])
	}
	st, err := os.Stat(refs[1].src)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v, mode %v", err, st.Mode())
	}
	req.Secrets = append(req.Secrets, driver.SecretSpec{ID: "missing"})
	if _, _, err := prepareSecrets(context.Background(), req, dir); !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("missing secret: %v", err)
	}
}

func TestFeaturesFollowMode(t *testing.T) {
	legacy := features(&detection{mode: ModeLegacy})
	if legacy[driver.FeatureSecrets] || legacy[driver.FeatureCacheExport] || !legacy[driver.FeatureDockerLoad] {
		t.Errorf("legacy features: %v", legacy)
	}
	classic := features(&detection{mode: ModeBuildKit})
	if !classic[driver.FeatureSecrets] || classic[driver.FeaturePush] || classic[driver.FeatureNoCacheFilter] || classic[driver.FeatureCacheExport] {
		t.Errorf("classic features: %v", classic)
	}
	bx := features(&detection{mode: ModeBuildx, bxDriver: "docker"})
	if !bx[driver.FeaturePush] || bx[driver.FeatureMultiPlatform] || bx[driver.FeatureCacheExport] {
		t.Errorf("buildx docker-driver features: %v", bx)
	}
	if bxc := features(&detection{mode: ModeBuildx, bxDriver: "docker-container"}); !bxc[driver.FeatureCacheExport] {
		t.Errorf("buildx docker-container features: %v", bxc)
	}
	if len(notes(&detection{mode: ModeLegacy})) == 0 || !strings.Contains(notes(&detection{mode: ModeLegacy})[0], "no secrets") {
		t.Errorf("legacy notes must state its limits")
	}
}
