package batch

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

func TestReadFile(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "bottles.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Slugs(); !reflect.DeepEqual(got, []string{"api", "web"}) {
		t.Errorf("Slugs = %v", got)
	}
	cacheFrom := []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "registry.example:5000/cache:{slug}"}}}
	web, ok := f.For("web")
	want := Settings{
		BuildArgs: map[string]string{"VERSION": "1", "CHANNEL": "beta", "NODE": "22"},
		Labels:    map[string]string{"org.example.team": "ci"},
		Target:    "final", PushName: "registry.example:5000/team/{slug}:{tag}",
		CacheFrom: cacheFrom,
		CacheTo:   []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "registry.example:5000/cache:{slug}", "mode": "max"}}},
	}
	if !ok || !reflect.DeepEqual(web, want) {
		t.Errorf("For(web) =\n%+v\nwant\n%+v", web, want)
	}
	api, _ := f.For("api")
	if api.PushName != "registry.example:5000/api:{tag}" || len(api.CacheTo) != 0 || !reflect.DeepEqual(api.CacheFrom, cacheFrom) || api.BuildArgs["CHANNEL"] != "stable" {
		t.Errorf("For(api) = %+v; want its own push name, no cache export (cleared), the defaults' rest", api)
	}
	if _, ok := f.For("db"); ok {
		t.Error("For a bottle the file does not list")
	}
}

func TestReadFileErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"unknown_key.toml", `:3: unknown key "bottles.web.tags"`},
		{"bad_slug.toml", "[bottles.Not A Slug]"},
		{"bad_cache.toml", "[bottles.web] cache_to"},
		{"empty.toml", "lists no bottle"},
		{"bad_type.toml", ":2:"},
		{"missing.toml", "no such file"},
	} {
		_, err := ReadFile(filepath.Join("testdata", tc.file))
		if !errors.Is(err, driver.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("ReadFile(%s) = %v; want ErrInvalidRequest naming the file and %q", tc.file, err, tc.want)
		}
	}
}

// TestBottleSettings: each bottle's build gets its own settings under the
// batch's request, which wins; its push name goes over the batch's.
func TestBottleSettings(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "bottles.toml"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	plans := []*bottle.Plan{
		plan(t, root, "web", "state/web/Dockerfile", bottle.RebuiltImage("web")),
		plan(t, root, "api", "state/api/Dockerfile", bottle.RebuiltImage("api")),
	}
	o := Options{Bottles: map[string]Settings{}, Request: driver.Request{Push: true, BuildArgs: map[string]string{"VERSION": "2"}}, PushName: "reg.example/{image}"}
	for _, p := range plans {
		o.Bottles[p.Slug], _ = f.For(p.Slug)
	}
	got, err := Plan(plans, o)
	if err != nil {
		t.Fatal(err)
	}
	web, api := got[0], got[1]
	if web.Slug != "web" || web.Push != "registry.example:5000/team/web:latest" || web.Request.Target != "final" ||
		!reflect.DeepEqual(web.Request.BuildArgs, map[string]string{"VERSION": "2", "CHANNEL": "beta", "NODE": "22"}) ||
		web.Request.CacheTo[0].Attrs["ref"] != "registry.example:5000/cache:web" || web.Request.Labels["org.example.team"] != "ci" {
		t.Errorf("web = %+v", web)
	}
	if api.Push != "registry.example:5000/api:latest" || len(api.Request.CacheTo) != 0 || api.Request.Target != "" {
		t.Errorf("api = %+v", api)
	}
	rec := &recorder{features: allFeatures}
	o.Builder = rec
	if err := Check(context.Background(), plans, o); err != nil {
		t.Fatal(err)
	}
	Build(context.Background(), plans, o)
	if len(rec.reqs) != 2 {
		t.Fatalf("%d builds", len(rec.reqs))
	}
	for _, r := range rec.reqs {
		if r.Outputs[1].Attrs["name"] != web.Push && r.Outputs[1].Attrs["name"] != api.Push {
			t.Errorf("pushed as %v", r.Outputs[1].Attrs)
		}
	}
}
