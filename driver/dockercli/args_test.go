package dockercli

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestBuildArgs(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "state", "Dockerfile") // outside the context, as a bottle's override is
	ctxDir := filepath.Join(dir, "repo")
	base := driver.Request{Dockerfile: df, ContextDir: ctxDir}
	full := base
	full.Tags = []string{"a:1", "b:2"}
	full.BuildArgs = map[string]string{"Z": "26", "A": "x=y"}
	full.Target = "final"
	full.Labels = map[string]string{"org.x": "1"}
	full.NoCache, full.Pull = true, true
	full.Platforms = []string{"linux/amd64"}

	legacy := plan{mode: ModeLegacy, iidFile: "/t/iid"}
	classic := plan{mode: ModeBuildKit, iidFile: "/t/iid"}
	bx := plan{mode: ModeBuildx, bxDriver: "docker", rawJSON: true, iidFile: "/t/iid", metaFile: "/t/meta"}
	bxc := bx
	bxc.bxDriver = "docker-container"
	common := []string{"-f", df, "-t", "a:1", "-t", "b:2", "--build-arg", "A=x=y", "--build-arg", "Z=26", "--target", "final",
		"--label", "org.x=1", "--no-cache", "--pull", "--platform", "linux/amd64"}

	tests := []struct {
		name    string
		plan    plan
		req     func(r *driver.Request)
		want    []string
		wantErr string // the field the ErrUnsupported error must name
	}{
		{name: "legacy minimal", plan: legacy, want: []string{"build", "--force-rm", "--iidfile", "/t/iid", "-f", df, ctxDir}},
		{name: "legacy full", plan: legacy, req: func(r *driver.Request) { *r = full },
			want: slices.Concat([]string{"build", "--force-rm", "--iidfile", "/t/iid"}, common, []string{ctxDir})},
		{name: "classic full", plan: classic, req: func(r *driver.Request) { *r = full },
			want: slices.Concat([]string{"build", "--progress=plain", "--iidfile", "/t/iid"}, common, []string{ctxDir})},
		{name: "buildx full", plan: bx, req: func(r *driver.Request) { *r = full },
			want: slices.Concat([]string{"buildx", "build", "--progress=rawjson", "--iidfile", "/t/iid", "--metadata-file", "/t/meta", "--load"}, common, []string{ctxDir})},
		{name: "old buildx gets plain progress", plan: plan{mode: ModeBuildx, iidFile: "i", metaFile: "m"},
			want: []string{"buildx", "build", "--progress=plain", "--iidfile", "i", "--metadata-file", "m", "--load", "-f", df, ctxDir}},
		{name: "legacy context on stdin", plan: plan{mode: ModeLegacy, iidFile: "/t/iid", stdinContext: true}, req: func(r *driver.Request) { r.Tags = []string{"a:1"} },
			want: []string{"build", "--force-rm", "--iidfile", "/t/iid", "-f", ".claude-bottle.Dockerfile", "-t", "a:1", "-"}},
		{name: "legacy cache-from image", plan: legacy, req: func(r *driver.Request) {
			r.CacheFrom = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "img:cache"}}}
		}, want: []string{"build", "--force-rm", "--iidfile", "/t/iid", "-f", df, "--cache-from", "img:cache", ctxDir}},
		{name: "legacy cache-from local", plan: legacy, req: func(r *driver.Request) {
			r.CacheFrom = []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"src": "/c"}}}
		}, wantErr: "cache-from type=local"},
		{name: "legacy cache-to", plan: legacy, req: func(r *driver.Request) { r.CacheTo = []driver.CacheSpec{{Type: "inline"}} }, wantErr: "cache-to type=inline"},
		{name: "legacy secrets", plan: legacy, req: func(r *driver.Request) { r.Secrets = []driver.SecretSpec{{ID: "tok"}} }, wantErr: "secrets"},
		{name: "legacy ssh", plan: legacy, req: func(r *driver.Request) { r.SSH = []driver.SSHSpec{{ID: "default"}} }, wantErr: "ssh"},
		{name: "legacy two platforms", plan: legacy, req: func(r *driver.Request) { r.Platforms = []string{"linux/amd64", "linux/arm64"} }, wantErr: "platforms"},
		{name: "legacy no-cache-filter", plan: legacy, req: func(r *driver.Request) { r.NoCacheStages = []string{"x"} }, wantErr: "no-cache-filter"},
		{name: "classic push", plan: classic, req: func(r *driver.Request) { r.Push = true }, wantErr: "push"},
		{name: "classic outputs", plan: classic, req: func(r *driver.Request) { r.Outputs = []driver.Output{{Type: "oci"}} }, wantErr: "outputs"},
		{name: "classic no-load", plan: classic, req: func(r *driver.Request) { r.NoLoad = true }, wantErr: "no-load"},
		{name: "classic inline cache and ssh", plan: classic, req: func(r *driver.Request) {
			r.CacheTo = []driver.CacheSpec{{Type: "inline"}}
			r.SSH = []driver.SSHSpec{{ID: "default"}, {ID: "key", Paths: []string{"/a", "/b"}}}
		}, want: []string{"build", "--progress=plain", "--iidfile", "/t/iid", "-f", df, "--build-arg", "BUILDKIT_INLINE_CACHE=1", "--ssh", "default", "--ssh", "key=/a,/b", ctxDir}},
		{name: "classic registry cache-to", plan: classic, req: func(r *driver.Request) {
			r.CacheTo = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "r/c"}}}
		}, wantErr: "cache-to type=registry"},
		{name: "classic secrets by env and file", plan: func() plan {
			p := classic
			p.secrets = []secretRef{{id: "a", env: "CLAUDE_BOTTLE_SECRET_0"}, {id: "b", src: "/t/secret-1"}}
			return p
		}(), want: []string{"build", "--progress=plain", "--iidfile", "/t/iid", "-f", df, "--secret", "id=a,env=CLAUDE_BOTTLE_SECRET_0", "--secret", "id=b,src=/t/secret-1", ctxDir}},
		{name: "buildx docker driver refuses registry cache-to", plan: bx, req: func(r *driver.Request) {
			r.CacheTo = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "r/c"}}}
		}, wantErr: "cache-to type=registry"},
		{name: "buildx docker driver refuses two platforms", plan: bx, req: func(r *driver.Request) { r.Platforms = []string{"linux/amd64", "linux/arm64"} }, wantErr: "platforms"},
		{name: "buildx container driver loads no multi-platform", plan: bxc, req: func(r *driver.Request) { r.Platforms = []string{"linux/amd64", "linux/arm64"} }, wantErr: "platforms"},
		{name: "buildx container driver pushes multi-platform with cache", plan: bxc, req: func(r *driver.Request) {
			r.Platforms = []string{"linux/amd64", "linux/arm64"}
			r.Push, r.NoLoad = true, true
			r.NoCacheStages = []string{"build", "test"}
			r.CacheFrom = []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"src": "/c"}}}
			r.CacheTo = []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "r/c", "mode": "max"}}}
		}, want: []string{"buildx", "build", "--progress=rawjson", "--iidfile", "/t/iid", "--metadata-file", "/t/meta", "--push", "-f", df,
			"--no-cache-filter", "build,test", "--platform", "linux/amd64,linux/arm64",
			"--cache-from", "type=local,src=/c", "--cache-to", "type=registry,mode=max,ref=r/c", ctxDir}},
		{name: "buildx docker driver pushes and loads with --push alone", plan: bx, req: func(r *driver.Request) { r.Push = true },
			want: []string{"buildx", "build", "--progress=rawjson", "--iidfile", "/t/iid", "--metadata-file", "/t/meta", "--push", "-f", df, ctxDir}},
		{name: "buildx container driver loads and pushes", plan: bxc, req: func(r *driver.Request) { r.Push = true },
			want: []string{"buildx", "build", "--progress=rawjson", "--iidfile", "/t/iid", "--metadata-file", "/t/meta", "--load", "--push", "-f", df, ctxDir}},
		{name: "buildx output with a comma is quoted", plan: bx, req: func(r *driver.Request) {
			r.Outputs = []driver.Output{{Type: "local", Attrs: map[string]string{"dest": "/o,x"}}}
		}, want: []string{"buildx", "build", "--progress=rawjson", "--iidfile", "/t/iid", "--metadata-file", "/t/meta", "-f", df, "--output", `type=local,"dest=/o,x"`, ctxDir}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			if tc.req != nil {
				tc.req(&req)
			}
			got, err := buildArgs(tc.plan, req)
			if tc.wantErr != "" {
				if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrUnsupported naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("args:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLegacyRefusesPerDockerfileIgnore(t *testing.T) {
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	for _, f := range []string{df, df + ".dockerignore"} {
		if err := os.WriteFile(f, []byte("FROM scratch\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	req := driver.Request{Dockerfile: df, ContextDir: dir}
	_, err := buildArgs(plan{mode: ModeLegacy}, req)
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "Dockerfile.dockerignore") {
		t.Fatalf("legacy: err = %v, want ErrUnsupported naming the ignore file", err)
	}
	if _, err := buildArgs(plan{mode: ModeBuildKit}, req); err != nil {
		t.Fatalf("buildkit mode reads the ignore file, yet: %v", err)
	}
}
