package driver

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// wantClass fails t unless err is of class (nil: no error) and says every
// part.
func wantClass(t *testing.T, err, class error, parts ...string) {
	t.Helper()
	if class == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, class) {
		t.Fatalf("err = %v, want %v", err, class)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in    string
		want  SecretSpec
		class error
		says  string
	}{
		{"id=tok", SecretSpec{ID: "tok"}, nil, ""},
		{"id=tok,src=/run/tok", SecretSpec{ID: "tok", Src: "/run/tok"}, nil, ""},
		{"id=tok,source=/run/tok", SecretSpec{ID: "tok", Src: "/run/tok"}, nil, ""},
		{"ID=tok,ENV=TOKEN", SecretSpec{ID: "tok", Env: "TOKEN"}, nil, ""},
		{"type=file,id=tok,src=f", SecretSpec{ID: "tok", Src: "f"}, nil, ""},
		{"type=env,id=tok,env=V", SecretSpec{ID: "tok", Env: "V"}, nil, ""},
		{"id=tok,src=a=b", SecretSpec{ID: "tok", Src: "a=b"}, nil, ""},
		{"type=ssh,id=tok", SecretSpec{}, ErrInvalidRequest, "type must be file or env"},
		{"id=tok,mode=0400", SecretSpec{}, ErrInvalidRequest, `unknown key "mode"`},
		{"tok", SecretSpec{}, ErrInvalidRequest, `"tok" is not key=value`},
		{"src=/run/tok", SecretSpec{}, ErrInvalidRequest, "has no id="},
		{"", SecretSpec{}, ErrInvalidRequest, "not key=value"},
	}
	for _, tc := range tests {
		got, err := ParseSecret(tc.in)
		if tc.class != nil {
			wantClass(t, err, tc.class, tc.says, "--secret")
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSecret(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSSH(t *testing.T) {
	tests := []struct {
		in   string
		want SSHSpec
	}{
		{"default", SSHSpec{ID: "default"}},
		{"github", SSHSpec{ID: "github"}},
		{"default=/run/agent.sock", SSHSpec{ID: "default", Paths: []string{"/run/agent.sock"}}},
		{"deploy=/k/a,/k/b", SSHSpec{ID: "deploy", Paths: []string{"/k/a", "/k/b"}}},
		{"deploy=", SSHSpec{ID: "deploy"}},
		{"", SSHSpec{}}, // BuildKit reads an empty ID as "default"
	}
	for _, tc := range tests {
		if got := ParseSSH(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseSSH(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseCacheSpec(t *testing.T) {
	tests := []struct {
		in    string
		want  CacheSpec
		class error
		says  string
	}{
		{"registry.example/cache:main", CacheSpec{Type: "registry", Attrs: map[string]string{"ref": "registry.example/cache:main"}}, nil, ""},
		{"type=registry,ref=r/c,mode=max", CacheSpec{Type: "registry", Attrs: map[string]string{"ref": "r/c", "mode": "max"}}, nil, ""},
		{"type=local,src=/tmp/c", CacheSpec{Type: "local", Attrs: map[string]string{"src": "/tmp/c"}}, nil, ""},
		{"type=inline", CacheSpec{Type: "inline", Attrs: map[string]string{}}, nil, ""},
		{"TYPE=local, Dest =/d", CacheSpec{Type: "local", Attrs: map[string]string{"dest": "/d"}}, nil, ""},
		{"ref=r/c", CacheSpec{}, ErrInvalidRequest, "has no type="},
		{"type=local,/tmp/c", CacheSpec{}, ErrInvalidRequest, `"/tmp/c" is not key=value`},
		{"type=local,=x", CacheSpec{}, ErrInvalidRequest, "not key=value"},
	}
	for _, tc := range tests {
		got, err := ParseCacheSpec(tc.in)
		if tc.class != nil {
			wantClass(t, err, tc.class, tc.says, tc.in)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCacheSpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseOutput(t *testing.T) {
	tests := []struct {
		in    string
		want  Output
		class error
		says  string
	}{
		{"type=oci,dest=/out/img.tar", Output{Type: "oci", Attrs: map[string]string{"dest": "/out/img.tar"}}, nil, ""},
		{"type=local,dest=out", Output{Type: "local", Attrs: map[string]string{"dest": "out"}}, nil, ""},
		{"type=image,name=r/i,push=true", Output{Type: "image", Attrs: map[string]string{"name": "r/i", "push": "true"}}, nil, ""},
		{"type=tar", Output{Type: "tar", Attrs: map[string]string{}}, nil, ""},
		{"oci", Output{}, ErrInvalidRequest, "has no type="},
		{"dest=/out", Output{}, ErrInvalidRequest, "has no type="},
		{"type=oci,dest", Output{}, ErrInvalidRequest, `"dest" is not key=value`},
	}
	for _, tc := range tests {
		got, err := ParseOutput(tc.in)
		if tc.class != nil {
			wantClass(t, err, tc.class, tc.says, tc.in)
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseOutput(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestRequestValidate(t *testing.T) {
	ctxDir := filepath.Join("testdata", "context")
	df := filepath.Join(ctxDir, "Dockerfile")
	tests := []struct {
		name  string
		req   Request
		class error
		says  []string
	}{
		{"ok", Request{Dockerfile: df, ContextDir: ctxDir}, nil, nil},
		{"Dockerfile outside the context", Request{Dockerfile: df, ContextDir: "testdata"}, nil, nil},
		{"secrets with ids", Request{Dockerfile: df, ContextDir: ctxDir, Secrets: []SecretSpec{{ID: "a"}, {ID: "b"}}}, nil, nil},
		{"no Dockerfile", Request{ContextDir: ctxDir}, ErrInvalidRequest, []string{"no Dockerfile"}},
		{"no context", Request{Dockerfile: df}, ErrInvalidRequest, []string{"no build context"}},
		{"context missing", Request{Dockerfile: df, ContextDir: "testdata/nope"}, ErrInvalidRequest, []string{`"testdata/nope"`, "not a readable directory"}},
		{"context is a file", Request{Dockerfile: df, ContextDir: df}, ErrInvalidRequest, []string{"not a readable directory"}},
		{"Dockerfile missing", Request{Dockerfile: "testdata/context/Nope", ContextDir: ctxDir}, ErrInvalidDockerfile, []string{`"testdata/context/Nope"`}},
		{"secret without id", Request{Dockerfile: df, ContextDir: ctxDir, Secrets: []SecretSpec{{Src: "f"}}}, ErrInvalidRequest, []string{"no id"}},
		{"secret twice", Request{Dockerfile: df, ContextDir: ctxDir, Secrets: []SecretSpec{{ID: "a"}, {ID: "a", Env: "X"}}}, ErrInvalidRequest, []string{`"a" is given twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantClass(t, tc.req.Validate(), tc.class, tc.says...)
		})
	}
}

func TestDockerfileDir(t *testing.T) {
	dir, name := Request{Dockerfile: "/state/a/Dockerfile"}.DockerfileDir()
	if dir != "/state/a" || name != "Dockerfile" {
		t.Errorf("DockerfileDir() = %q, %q", dir, name)
	}
	abs, _ := filepath.Abs("testdata/context")
	if dir, name := (Request{Dockerfile: "testdata/context/Dockerfile"}).DockerfileDir(); dir != abs || name != "Dockerfile" {
		t.Errorf("relative DockerfileDir() = %q, %q; want %q", dir, name, abs)
	}
}

func TestHostSecrets(t *testing.T) {
	t.Setenv("CB_TEST_TOKEN", "from-env")
	t.Setenv("byid", "by-id")
	h := HostSecrets{
		{ID: "file", Src: filepath.Join("testdata", "secret.txt")},
		{ID: "env", Env: "CB_TEST_TOKEN"},
		{ID: "byid"},
		{ID: "unset", Env: "CB_TEST_UNSET"},
		{ID: "missing", Src: filepath.Join("testdata", "nope")},
		{ID: "nothing"},
	}
	tests := []struct {
		id    string
		want  string
		class error
		says  string
	}{
		{"file", "s3cret", nil, ""},
		{"env", "from-env", nil, ""},
		{"byid", "by-id", nil, ""},
		{"unset", "", ErrInvalidRequest, `"CB_TEST_UNSET" is not set`},
		{"missing", "", ErrInvalidRequest, `secret "missing"`},
		{"nothing", "", ErrInvalidRequest, "neither src= nor env="},
		{"other", "", ErrNotFound, "--secret id=other"},
	}
	for _, tc := range tests {
		got, err := h.Secret(context.Background(), tc.id)
		if tc.class != nil {
			wantClass(t, err, tc.class, tc.says)
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("Secret(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
}

func TestRequestLoads(t *testing.T) {
	tar := Output{Type: "tar", Attrs: map[string]string{"dest": "x.tar"}}
	archive := Output{Type: "docker", Attrs: map[string]string{"dest": "x.tar"}}
	for _, tc := range []struct {
		req  Request
		want bool
	}{
		{Request{}, true},
		{Request{NoLoad: true}, false},
		{Request{Outputs: []Output{tar}}, false},
		{Request{Outputs: []Output{archive}}, false}, // a docker archive is a file, not the engine
		{Request{Outputs: []Output{tar, LoadOutput()}}, true},
		{Request{Outputs: []Output{LoadOutput()}, NoLoad: true}, false},
	} {
		if got := tc.req.Loads(); got != tc.want {
			t.Errorf("%+v.Loads() = %v, want %v", tc.req, got, tc.want)
		}
	}
}
