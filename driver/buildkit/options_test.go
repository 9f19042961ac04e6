package buildkit

import (
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/client"
)

var (
	engineEP     = endpoint{kind: kindEngine}
	standaloneEP = endpoint{kind: kindUnix, addr: "unix:///run/buildkit/buildkitd.sock"}
)

func TestFrontendAttrs(t *testing.T) {
	tests := []struct {
		name string
		req  driver.Request
		want map[string]string
	}{
		{"minimal", driver.Request{Dockerfile: "/repo/Dockerfile"}, map[string]string{"filename": "Dockerfile"}},
		{"everything", driver.Request{
			Dockerfile: "/repo/.bottle/agent.Dockerfile", Target: "dev",
			BuildArgs: map[string]string{"GO": "1.26"}, Labels: map[string]string{"a.b": "c"},
			Pull: true, Platforms: []string{"linux/amd64", "linux/arm64"},
		}, map[string]string{
			"filename": "agent.Dockerfile", "target": "dev", "build-arg:GO": "1.26", "label:a.b": "c",
			"image-resolve-mode": "pull", "platform": "linux/amd64,linux/arm64",
		}},
		{"no-cache all", driver.Request{Dockerfile: "D", NoCache: true, NoCacheStages: []string{"x"}},
			map[string]string{"filename": "D", "no-cache": ""}},
		{"no-cache filter", driver.Request{Dockerfile: "D", NoCacheStages: []string{"deps", "app"}},
			map[string]string{"filename": "D", "no-cache": "deps,app"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := frontendAttrs(tt.req); !maps.Equal(got, tt.want) {
				t.Errorf("frontendAttrs = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCacheEntries(t *testing.T) {
	reg := driver.CacheSpec{Type: "registry", Attrs: map[string]string{"ref": "r/c:1", "mode": "max"}}
	tests := []struct {
		name    string
		specs   []driver.CacheSpec
		field   string
		ep      endpoint
		wantErr error
	}{
		{"registry import on engine", []driver.CacheSpec{reg}, "cache-from", engineEP, nil},
		{"registry export on engine", []driver.CacheSpec{reg}, "cache-to", engineEP, driver.ErrUnsupported},
		{"registry export standalone", []driver.CacheSpec{reg}, "cache-to", standaloneEP, nil},
		{"inline export on engine", []driver.CacheSpec{{Type: "inline"}}, "cache-to", engineEP, nil},
		{"local export", []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": "/tmp/c"}}}, "cache-to", standaloneEP, nil},
		{"local export on engine", []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": "/tmp/c"}}}, "cache-to", engineEP, driver.ErrUnsupported},
		{"local export without dest", []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"src": "/tmp/c"}}}, "cache-to", standaloneEP, driver.ErrInvalidRequest},
		{"local import without src", []driver.CacheSpec{{Type: "local"}}, "cache-from", standaloneEP, driver.ErrInvalidRequest},
		{"registry without ref", []driver.CacheSpec{{Type: "registry"}}, "cache-from", standaloneEP, driver.ErrInvalidRequest},
		{"unknown type", []driver.CacheSpec{{Type: "gha"}}, "cache-to", standaloneEP, driver.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cacheEntries(tt.specs, tt.field, tt.ep)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.field) {
					t.Errorf("error %q does not name the field %q", err, tt.field)
				}
				return
			}
			for i, e := range got {
				if e.Type != tt.specs[i].Type || !maps.Equal(e.Attrs, tt.specs[i].Attrs) && len(tt.specs[i].Attrs) > 0 {
					t.Errorf("entry %d = %+v, want %+v", i, e, tt.specs[i])
				}
			}
		})
	}
	// BuildKit writes into an entry's attributes; the request's must not change.
	got, _ := cacheEntries([]driver.CacheSpec{reg}, "cache-from", standaloneEP)
	got[0].Attrs["digest"] = "sha256:x"
	if _, ok := reg.Attrs["digest"]; ok {
		t.Error("cacheEntries shares the request's attribute map")
	}
}

func exportTypes(p exportPlan) []string {
	var out []string
	for _, e := range p.entries {
		out = append(out, e.Type)
	}
	return out
}

func TestPlanExports(t *testing.T) {
	tags := []string{"a:1", "b:2"}
	tests := []struct {
		name    string
		req     driver.Request
		ep      endpoint
		want    []string
		wantErr error
	}{
		{"engine load", driver.Request{Tags: tags}, engineEP, []string{"moby"}, nil},
		{"engine no-load", driver.Request{NoLoad: true}, engineEP, nil, nil},
		{"engine push", driver.Request{Tags: tags, Push: true}, engineEP, nil, driver.ErrUnsupported},
		{"engine oci output", driver.Request{Outputs: []driver.Output{{Type: "oci", Attrs: map[string]string{"dest": "/x"}}}}, engineEP, nil, driver.ErrUnsupported},
		{"engine local output", driver.Request{Outputs: []driver.Output{{Type: "local", Attrs: map[string]string{"dest": "/x"}}}}, engineEP, []string{"local"}, nil},
		{"engine two outputs", driver.Request{Outputs: []driver.Output{{Type: "local", Attrs: map[string]string{"dest": "/x"}}, {Type: "tar", Attrs: map[string]string{"dest": "/y"}}}}, engineEP, nil, driver.ErrUnsupported},
		{"engine multi-platform", driver.Request{Platforms: []string{"linux/amd64", "linux/arm64"}}, engineEP, nil, driver.ErrUnsupported},
		{"standalone load", driver.Request{Tags: tags}, standaloneEP, []string{"docker"}, nil},
		{"standalone load and push", driver.Request{Tags: tags, Push: true}, standaloneEP, []string{"docker", "image"}, nil},
		{"standalone push only", driver.Request{Tags: tags, Push: true, NoLoad: true}, standaloneEP, []string{"image"}, nil},
		{"standalone no-load", driver.Request{NoLoad: true}, standaloneEP, []string{"image"}, nil},
		{"push without tags", driver.Request{Push: true}, standaloneEP, nil, driver.ErrInvalidRequest},
		{"standalone multi-platform load", driver.Request{Platforms: []string{"linux/amd64", "linux/arm64"}}, standaloneEP, nil, driver.ErrUnsupported},
		{"outputs replace load", driver.Request{Tags: tags, Outputs: []driver.Output{
			{Type: "oci", Attrs: map[string]string{"dest": "/x.tar"}}, {Type: "local", Attrs: map[string]string{"dest": "/d"}},
			{Type: "docker", Attrs: map[string]string{"dest": "/y.tar"}}, {Type: "tar", Attrs: map[string]string{"dest": "/z.tar"}}}},
			standaloneEP, []string{"oci", "local", "docker", "tar"}, nil},
		{"output without dest", driver.Request{Outputs: []driver.Output{{Type: "oci"}}}, standaloneEP, nil, driver.ErrInvalidRequest},
		{"output to stdout", driver.Request{Outputs: []driver.Output{{Type: "tar", Attrs: map[string]string{"dest": "-"}}}}, standaloneEP, nil, driver.ErrInvalidRequest},
		{"unknown output", driver.Request{Outputs: []driver.Output{{Type: "cacheonly"}}}, standaloneEP, nil, driver.ErrUnsupported},
		{"registry output", driver.Request{Outputs: []driver.Output{{Type: "registry", Attrs: map[string]string{"name": "r/x:1"}}}}, standaloneEP, []string{"image"}, nil},
		// driver.LoadOutput among outputs keeps the load (buildx's --load).
		{"load and registry output", driver.Request{Tags: tags, Outputs: []driver.Output{driver.LoadOutput(), {Type: "registry", Attrs: map[string]string{"name": "r/x:1"}}}}, standaloneEP, []string{"docker", "image"}, nil},
		{"load and tar output", driver.Request{Tags: tags, Outputs: []driver.Output{{Type: "tar", Attrs: map[string]string{"dest": "/z.tar"}}, driver.LoadOutput()}}, standaloneEP, []string{"docker", "tar"}, nil},
		{"engine load output alone", driver.Request{Tags: tags, Outputs: []driver.Output{driver.LoadOutput()}}, engineEP, []string{"moby"}, nil},
		{"engine load and tar output", driver.Request{Tags: tags, Outputs: []driver.Output{driver.LoadOutput(), {Type: "tar", Attrs: map[string]string{"dest": "/z.tar"}}}}, engineEP, nil, driver.ErrUnsupported},
		{"load output and no-load", driver.Request{Tags: tags, NoLoad: true, Outputs: []driver.Output{driver.LoadOutput()}}, standaloneEP, []string{"image"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planExports(tt.req, tt.ep, &loader{})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := exportTypes(p); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("exporters = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlanExportsAttrs(t *testing.T) {
	p, err := planExports(driver.Request{Tags: []string{"a:1", "b:2"}, Push: true}, standaloneEP, &loader{})
	if err != nil {
		t.Fatal(err)
	}
	load, push := p.entries[0], p.entries[1]
	if load.Attrs["name"] != "a:1,b:2" || load.Attrs["compression"] != "uncompressed" || load.Output == nil || p.load == nil {
		t.Errorf("load exporter = %+v", load)
	}
	if push.Attrs["name"] != "a:1,b:2" || push.Attrs["push"] != "true" || !p.digest {
		t.Errorf("push exporter = %+v", push)
	}
	p, _ = planExports(driver.Request{Tags: []string{"a:1"}, Push: true, NoLoad: true,
		Outputs: []driver.Output{{Type: "oci", Attrs: map[string]string{"dest": "/x"}}}}, standaloneEP, nil)
	if got := exportTypes(p); strings.Join(got, ",") != "oci,image" {
		t.Errorf("exporters = %v, want the push last so its digest is reported", got)
	}
	if p, _ = planExports(driver.Request{Tags: []string{"a:1"}}, standaloneEP, &loader{}); p.digest {
		t.Error("a load alone reports a manifest digest that no registry knows")
	}
	p, _ = planExports(driver.Request{Tags: []string{"a:1"}}, engineEP, nil)
	if e := p.entries[0]; e.Type != "moby" || e.Attrs["name"] != "a:1" || !p.engineStore {
		t.Errorf("engine exporter = %+v", e)
	}
	dir := t.TempDir()
	p, _ = planExports(driver.Request{Outputs: []driver.Output{{Type: client.ExporterOCI, Attrs: map[string]string{"dest": filepath.Join(dir, "o.tar"), "name": "x"}}}}, standaloneEP, nil)
	e := p.entries[0]
	if _, ok := e.Attrs["dest"]; ok || e.Attrs["name"] != "x" {
		t.Errorf("oci exporter attrs = %v, want dest moved to the output function", e.Attrs)
	}
	w, err := e.Output(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
}
