package batch

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

// threeBottles are two bottles with their own images and one more that
// shares a's image (the repo's, say).
func threeBottles(t *testing.T) []*bottle.Plan {
	root := t.TempDir()
	return []*bottle.Plan{
		plan(t, root, "a", "repo/Dockerfile", bottle.BaseImage),
		plan(t, root, "b", "state/b/Dockerfile", bottle.RebuiltImage("b")),
		plan(t, root, "c", "repo/Dockerfile", bottle.BaseImage),
	}
}

var allFeatures = map[driver.Feature]bool{driver.FeatureCacheExport: true, driver.FeatureCacheImport: true, driver.FeaturePush: true, driver.FeatureOutputs: true}

// TestCheckRefusesSharedDestinations: one --output, --cache-to or pushed
// name for several builds is refused before anything is built, unless
// {slug} makes them each their own (defect 2).
func TestCheckRefusesSharedDestinations(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  driver.Request
		push string
		want string // "" for accepted
	}{
		{"one tar", driver.Request{Outputs: []driver.Output{{Type: "tar", Attrs: map[string]string{"dest": "all.tar"}}}}, "", "--output dest"},
		{"one tar a bottle", driver.Request{Outputs: []driver.Output{{Type: "tar", Attrs: map[string]string{"dest": "out/{slug}.tar"}}}}, "", ""},
		{"one registry name", driver.Request{Outputs: []driver.Output{{Type: "registry", Attrs: map[string]string{"name": "reg.example/app:1"}}}}, "", "image name reg.example/app:1"},
		{"one registry name a bottle", driver.Request{Outputs: []driver.Output{{Type: "registry", Attrs: map[string]string{"name": "reg.example/{slug}:1"}}}}, "", ""},
		{"one local cache", driver.Request{CacheTo: []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": "cache", "mode": "max"}}}}, "", "--output dest"},
		{"one local cache a bottle", driver.Request{CacheTo: []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": "cache/{slug}"}}}}, "", ""},
		{"one registry cache", driver.Request{CacheTo: []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "reg.example/cache"}}}}, "", "--cache-to ref reg.example/cache"},
		{"inline cache", driver.Request{CacheTo: []driver.CacheSpec{{Type: "inline"}}}, "", ""},
		{"one push name", driver.Request{Push: true}, "reg.example/team/app:latest", "image name reg.example/team/app:latest"},
		{"a push name an image", driver.Request{Push: true}, "reg.example/team/{image}:{tag}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			rec := &recorder{features: allFeatures}
			err := Check(context.Background(), threeBottles(t), Options{Builder: rec, Request: tc.req, PushName: tc.push})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if !errors.Is(err, driver.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "{slug}") {
				t.Fatalf("Check = %v; want ErrInvalidRequest naming %q and how {slug} helps", err, tc.want)
			}
			if !strings.Contains(err.Error(), "bottles a and b") {
				t.Errorf("Check = %v; want it to name the bottles", err)
			}
		})
	}
}

// TestBuildGivesEachBottleItsOwnDestination: {slug} is filled in per
// bottle, and bottles that share an image but not a destination get a
// build each.
func TestBuildGivesEachBottleItsOwnDestination(t *testing.T) {
	rec := &recorder{features: allFeatures}
	req := driver.Request{
		Outputs:   []driver.Output{{Type: "tar", Attrs: map[string]string{"dest": "/out/{slug}.tar"}}},
		CacheTo:   []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "reg.example/cache:{slug}", "mode": "max"}}},
		CacheFrom: []driver.CacheSpec{{Type: "registry", Attrs: map[string]string{"ref": "reg.example/cache:{slug}"}}},
	}
	outs := Build(context.Background(), threeBottles(t), Options{Jobs: 3, Builder: rec, Request: req})
	var dests, refs []string
	for _, r := range rec.reqs {
		dests = append(dests, r.Outputs[0].Attrs["dest"])
		refs = append(refs, r.CacheTo[0].Attrs["ref"]+" "+r.CacheFrom[0].Attrs["ref"])
	}
	slices.Sort(dests)
	slices.Sort(refs)
	if want := []string{"/out/a.tar", "/out/b.tar", "/out/c.tar"}; !slices.Equal(dests, want) {
		t.Errorf("builds wrote %v, want %v", dests, want)
	}
	if want := []string{"reg.example/cache:a reg.example/cache:a", "reg.example/cache:b reg.example/cache:b", "reg.example/cache:c reg.example/cache:c"}; !slices.Equal(refs, want) {
		t.Errorf("cache refs %v, want %v", refs, want)
	}
	if req.Outputs[0].Attrs["dest"] != "/out/{slug}.tar" {
		t.Error("the batch's own request was changed")
	}
	// --output replaced the load: no bottle claims a local image.
	for _, o := range outs {
		if !o.OK() || o.Image != "" || len(o.Outputs) != 1 || o.Outputs[0] != "type=tar,dest=/out/"+o.Slug+".tar" {
			t.Errorf("%s: %+v; want built, no local image, its own tar", o.Slug, o)
		}
	}
}

// TestPushNames: --push pushes each bottle's image as the name the
// template gives it, and only as that (never the local tag, which would go
// to Docker Hub); without a template, or with one naming no registry,
// nothing is built (defect 1).
func TestPushNames(t *testing.T) {
	for _, tmpl := range []string{"", "team/{image}:{tag}"} {
		rec := &recorder{features: allFeatures}
		o := Options{Builder: rec, Request: driver.Request{Push: true}, PushName: tmpl}
		err := Check(context.Background(), threeBottles(t), o)
		if !errors.Is(err, driver.ErrInvalidRequest) || !strings.Contains(err.Error(), "Docker Hub") {
			t.Errorf("push name %q: Check = %v; want it refused, saying nothing goes to Docker Hub", tmpl, err)
		}
		outs := Build(context.Background(), threeBottles(t), o)
		if len(rec.reqs) != 0 || outs[0].OK() || outs[0].Image != "" {
			t.Errorf("push name %q: built %v anyway: %+v", tmpl, rec.built, outs[0])
		}
	}

	rec := &recorder{features: allFeatures}
	o := Options{Builder: rec, Request: driver.Request{Push: true}, PushName: "127.0.0.1:5000/ci/{slug}:{tag}", Jobs: 2}
	if err := Check(context.Background(), threeBottles(t), o); err != nil {
		t.Fatal(err)
	}
	outs := Build(context.Background(), threeBottles(t), o)
	if len(rec.reqs) != 3 {
		t.Fatalf("%d builds; want one a bottle, since each is pushed under its own name", len(rec.reqs))
	}
	for _, r := range rec.reqs {
		if r.Push || len(r.Outputs) != 2 || !r.Outputs[0].Loads() || r.Outputs[1].Type != "registry" || len(r.Tags) != 1 || r.Tags[0] == r.Outputs[1].Attrs["name"] {
			t.Errorf("request %+v; want the load and a registry output of the push name alone", r)
		}
	}
	for _, out := range outs {
		want := "127.0.0.1:5000/ci/" + out.Slug + ":latest"
		if !slices.Equal(out.Pushed, []string{want}) || out.ImageName != out.Image+","+want || out.Image != out.Tag || out.BxDigest == "" {
			t.Errorf("%s: pushed %v, image.name %q, image %q, digest %q; want %s", out.Slug, out.Pushed, out.ImageName, out.Image, out.BxDigest, want)
		}
	}
}

// TestMetadataOfFailures: a failed bottle carries no image a script would
// push, its status says failed, and the Dockerfile line of the failed
// step; a bottle whose every step came from cache says cached (defects 4
// and 6).
func TestMetadataOfFailures(t *testing.T) {
	plans := threeBottles(t)
	rec := &recorder{failFor: bottle.RebuiltImage("b"), cached: true}
	outs := Build(context.Background(), plans, Options{Jobs: 2, Builder: rec, Driver: "rec"})
	byslug := map[string]map[string]any{}
	for _, o := range outs {
		var m map[string]any
		data, _ := json.Marshal(o)
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		byslug[o.Slug] = m
	}
	b := byslug["b"]
	if b["status"] != "failed" || b["schema_version"] != float64(SchemaVersion) || !strings.Contains(b["error"].(string), "exit code 1") {
		t.Errorf("b = %v", b)
	}
	for _, k := range []string{"image", "image_id", "image.name", "containerimage.digest", "containerimage.config.digest", "pushed", "digest"} {
		if _, ok := b[k]; ok {
			t.Errorf("the failed bottle has %q = %v", k, b[k])
		}
	}
	at, _ := b["error_at"].(map[string]any)
	if at["line"] != float64(3) || at["dockerfile"] != plans[1].Dockerfile || at["step"] != "[2/2] RUN false" {
		t.Errorf("b's error_at = %v; want line 3 of %s", at, plans[1].Dockerfile)
	}
	a := byslug["a"]
	if a["status"] != "cached" || a["image"] != bottle.BaseImage || a["containerimage.config.digest"] != a["image_id"] || a["image.name"] != bottle.BaseImage {
		t.Errorf("a = %v", a)
	}
	if c := byslug["c"]; c["shared_with"] != "a" || c["status"] != "cached" {
		t.Errorf("c = %v", c)
	}
}

// TestStepCountsAreStable: the counts are the Dockerfile's steps alone,
// the same from build to build whatever other steps the builder reports
// (defect 6).
func TestStepCountsAreStable(t *testing.T) {
	plans := threeBottles(t)[:1]
	rec := &recorder{}
	first := Build(context.Background(), plans, Options{Builder: rec})[0]
	again := Build(context.Background(), plans, Options{Builder: rec})[0]
	if first.Steps != again.Steps || first.Steps != (driver.StepCount{Total: 2, Cached: 1}) || first.Status != StatusBuilt {
		t.Errorf("steps %+v then %+v (%s); want 2 steps, 1 cached, both times", first.Steps, again.Steps, first.Status)
	}
}

// TestCheckCacheFlags: a cache the driver cannot export here is refused
// once, before anything is built, and so is a local cache to import that
// is not there (defect 7).
func TestCheckCacheFlags(t *testing.T) {
	rec := &recorder{features: map[driver.Feature]bool{driver.FeatureCacheImport: true}}
	local := driver.Request{CacheTo: []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"dest": "/tmp/c-{slug}"}}}}
	err := Check(context.Background(), threeBottles(t), Options{Builder: rec, Request: local})
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "--cache-to type=local") || !strings.Contains(err.Error(), "claude-bottle drivers --driver rec") {
		t.Errorf("Check = %v; want ErrUnsupported for --cache-to type=local", err)
	}
	if n := rec.infos.Load(); n != 1 {
		t.Errorf("Info asked %d times, want once", n)
	}
	inline := driver.Request{CacheTo: []driver.CacheSpec{{Type: "inline"}}}
	if err := Check(context.Background(), threeBottles(t), Options{Builder: rec, Request: inline}); err != nil {
		t.Errorf("inline cache: %v", err)
	}

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	full := filepath.Join(dir, "full-a")
	os.Mkdir(full, 0o755)
	os.WriteFile(filepath.Join(full, "index.json"), []byte("{}"), 0o644)
	for _, tc := range []struct{ src, want string }{
		{filepath.Join(dir, "missing"), "no such folder"},
		{empty, "holds no cache"},
		{filepath.Join(dir, "full-{slug}"), "full-b"}, // a has one, b has none
		{full, ""},
	} {
		req := driver.Request{CacheFrom: []driver.CacheSpec{{Type: "local", Attrs: map[string]string{"src": tc.src}}}}
		err := Check(context.Background(), threeBottles(t), Options{Builder: rec, Request: req})
		if tc.want == "" {
			if err != nil {
				t.Errorf("src=%s: %v", tc.src, err)
			}
			continue
		}
		if !errors.Is(err, driver.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("src=%s: Check = %v; want it refused saying %q", tc.src, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "missing")); err == nil {
			t.Error("checking made the missing folder")
		}
	}
}

// TestCheckRefusesABadDockerfileFirst: a bottle whose Dockerfile does not
// parse stops the batch before any build, whatever the order the bottles
// were named in (defect 3).
func TestCheckRefusesABadDockerfileFirst(t *testing.T) {
	plans := threeBottles(t)
	os.WriteFile(plans[1].Dockerfile, []byte("FROM scratch\nFROBNICATE\n"), 0o644)
	for _, order := range [][]*bottle.Plan{plans, {plans[1], plans[0]}} {
		err := Check(context.Background(), order, Options{Builder: &recorder{}})
		if !errors.Is(err, driver.ErrInvalidDockerfile) || !strings.Contains(err.Error(), "bottle b") {
			t.Errorf("Check = %v; want bottle b's Dockerfile refused", err)
		}
	}
}
