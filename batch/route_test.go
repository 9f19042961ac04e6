package batch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/pool"
)

// TestRouteKeyFollowsTheBase: a rebuilt bottle whose override starts with
// the repo Dockerfile routes like the base; one that does not is its own.
func TestRouteKeyFollowsTheBase(t *testing.T) {
	repo := t.TempDir()
	base := "FROM scratch\nCOPY busybox /bin/busybox\n"
	write := func(path, s string) string {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	df := write(filepath.Join(repo, "Dockerfile"), base)
	rendered := write(filepath.Join(t.TempDir(), "Dockerfile"), base+"# capability: tools\nRUN true\n")
	own := write(filepath.Join(t.TempDir(), "Dockerfile"), "FROM scratch\nRUN other\n")
	want := pool.Key([]byte(base))
	for _, c := range []struct {
		name string
		p    *bottle.Plan
		want string
	}{
		{"repo", &bottle.Plan{Dockerfile: df, Repo: repo}, want},
		{"rendered override", &bottle.Plan{Dockerfile: rendered, Repo: repo, Rebuilt: true}, want},
		{"own override", &bottle.Plan{Dockerfile: own, Repo: repo, Rebuilt: true}, pool.Key([]byte("FROM scratch\nRUN other\n"))},
	} {
		if got := RouteKey(c.p); got != c.want {
			t.Errorf("%s: key %s, want %s", c.name, got, c.want)
		}
	}
}

// TestSharedCacheRefs: imports of the base's and the bottle's cache on
// every build, an export only when asked, and none without a cache.
func TestSharedCacheRefs(t *testing.T) {
	key := pool.Key([]byte("x"))
	base := CacheRef("reg:5000/c", key, "")
	p := &bottle.Plan{Slug: "web", Rebuilt: true}
	req := sharedCache(driver.Request{}, p, key, "reg:5000/c", false)
	if len(req.CacheFrom) != 2 || req.CacheFrom[0].Attrs["ref"] != base || req.CacheFrom[1].Attrs["ref"] != "reg:5000/c:bottle-web" || len(req.CacheTo) != 0 {
		t.Fatalf("imports %+v, exports %+v", req.CacheFrom, req.CacheTo)
	}
	req = sharedCache(driver.Request{}, &bottle.Plan{Slug: "a"}, key, "reg:5000/c", true)
	if len(req.CacheFrom) != 1 || len(req.CacheTo) != 1 || req.CacheTo[0].Attrs["ref"] != base || req.CacheTo[0].Attrs["mode"] != "max" {
		t.Fatalf("base build: imports %+v, exports %+v", req.CacheFrom, req.CacheTo)
	}
	if req = sharedCache(driver.Request{}, p, key, "", true); len(req.CacheFrom)+len(req.CacheTo) != 0 {
		t.Fatalf("no cache: %+v", req)
	}
}

// TestBuildOnPool: a batch on a pool reports each bottle's member and why,
// and the members' loads stay within the bound.
func TestBuildOnPool(t *testing.T) {
	root := t.TempDir()
	recs := map[string]*recorder{}
	var ms []pool.Member
	for _, n := range []string{"m1", "m2", "m3"} {
		recs[n] = &recorder{}
		ms = append(ms, pool.Member{Name: n, Builder: recs[n]})
	}
	pl, err := pool.New(ms, pool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var plans []*bottle.Plan
	for i := range 8 {
		s := fmt.Sprintf("b%d", i)
		plans = append(plans, plan(t, root, s, "/"+s+"/Dockerfile", "img-"+s))
	}
	outs := Build(context.Background(), plans, Options{Jobs: 4, Builder: pl, Driver: "buildkit"})
	for i, o := range outs {
		rec := recs[o.Builder]
		if rec == nil || o.BuilderReason == "" {
			t.Fatalf("bottle %d: builder %q (%q)", i, o.Builder, o.BuilderReason)
		}
	}
	limit := pool.Capacity(8, 3, pool.DefaultLoadFactor)
	for n, r := range recs {
		if len(r.built) > limit {
			t.Errorf("%s built %d, limit %d", n, len(r.built), limit)
		}
	}
}
