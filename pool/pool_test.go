package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

var three = []string{"unix:///a.sock", "unix:///b.sock", "unix:///c.sock"}

func keys(n, distinct int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Key([]byte(fmt.Sprintf("FROM scratch\n# base %d\n", i%distinct)))
	}
	return out
}

// TestPlaceBoundsLoad: whatever the keys, no member takes more than its
// capacity, every key is placed, and a key goes to its owner unless the
// owner is full or down.
func TestPlaceBoundsLoad(t *testing.T) {
	cases := []struct {
		name     string
		n, dist  int
		down     map[string]error
		wantCap  int
		wantUsed int
	}{
		{"distinct", 16, 16, nil, 7, 3},
		{"one hot base", 16, 1, nil, 7, 3},
		{"two bases", 16, 2, nil, 7, 3},
		{"one down", 16, 16, map[string]error{three[1]: errors.New("refused")}, 10, 2},
		{"small batch", 2, 1, nil, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ks := keys(c.n, c.dist)
			got := Place(ks, three, c.down, DefaultLoadFactor)
			if cp := Capacity(c.n, 3-len(c.down), DefaultLoadFactor); cp != c.wantCap {
				t.Fatalf("capacity = %d, want %d", cp, c.wantCap)
			}
			load := map[string]int{}
			for i, p := range got {
				if p.Member == "" || c.down[p.Member] != nil {
					t.Fatalf("key %d placed on %q (down: %v)", i, p.Member, c.down)
				}
				load[p.Member]++
				owner := HashOrder(ks[i], three)[0]
				if p.Member == owner != strings.HasPrefix(p.Reason, "owner of") {
					t.Errorf("key %d on %s, owner %s, reason %q", i, p.Member, owner, p.Reason)
				}
			}
			for m, l := range load {
				if l > c.wantCap {
					t.Errorf("%s took %d builds, cap %d", m, l, c.wantCap)
				}
			}
			if len(load) != c.wantUsed {
				t.Errorf("members used = %v, want %d of them", load, c.wantUsed)
			}
			again := Place(ks, three, c.down, DefaultLoadFactor)
			for i := range got {
				if again[i].Member != got[i].Member {
					t.Fatalf("placement of key %d changed between runs", i)
				}
			}
		})
	}
}

// TestHashOrderStable: removing a member moves only the keys it owned.
func TestHashOrderStable(t *testing.T) {
	for _, k := range keys(64, 64) {
		all := HashOrder(k, three)
		less := HashOrder(k, three[:2])
		if all[0] != three[2] && less[0] != all[0] {
			t.Fatalf("key %s moved from %s to %s when an unrelated member left", k, all[0], less[0])
		}
	}
}

type fake struct {
	name  string
	check error
	fail  error // Build's error
	info  error // Info's error
	mu    sync.Mutex
	built int
	last  driver.Request
}

func (f *fake) Info(context.Context) (driver.Info, error) {
	if f.info != nil {
		return driver.Info{}, f.info
	}
	return driver.Info{Name: "fake", Features: map[driver.Feature]bool{driver.FeaturePush: f.name != "b"}}, nil
}
func (f *fake) Check(context.Context) error { return f.check }
func (f *fake) Build(_ context.Context, req driver.Request, _ driver.Sink) (*driver.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.built++
	f.last = req
	if f.fail != nil {
		return nil, f.fail
	}
	return &driver.Result{ImageID: "sha256:" + f.name}, nil
}

func newFakes(t *testing.T) (*Pool, map[string]*fake) {
	t.Helper()
	fs := map[string]*fake{}
	var ms []Member
	for _, n := range []string{"a", "b", "c"} {
		fs[n] = &fake{name: n}
		ms = append(ms, Member{Name: n, Builder: fs[n]})
	}
	p, err := New(ms, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, fs
}

// TestBuildOnFailover: a member that dies is retried once on the next in
// hash order and the report says so; a build's own failure is not.
func TestBuildOnFailover(t *testing.T) {
	ctx := context.Background()
	p, fs := newFakes(t)
	pl := p.Place(ctx, []string{"k"})[0]
	fs[pl.Member].fail = fmt.Errorf("%w: connection refused", driver.ErrDaemonUnreachable)
	res, rep, err := p.BuildOn(ctx, pl, driver.Request{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FailedOver != pl.Member || rep.Member != pl.Order[1] || res.ImageID != "sha256:"+pl.Order[1] {
		t.Fatalf("report %+v, result %+v, order %v", rep, res, pl.Order)
	}
	if !strings.Contains(rep.String(), "retried there after "+pl.Member) {
		t.Errorf("report reads %q", rep)
	}
	// A build placed on it before it died goes straight to the next.
	before := fs[pl.Member].built
	if _, rep, err := p.BuildOn(ctx, pl, driver.Request{}, nil); err != nil || rep.FailedOver != pl.Member || !strings.Contains(rep.Failure, "found dead by an earlier build") || fs[pl.Member].built != before {
		t.Errorf("second build placed on the dead member: %+v, %v, %d attempts there", rep, err, fs[pl.Member].built-before)
	}
	// The dead member is now passed over by the next placement.
	if again := p.Place(ctx, []string{"k"})[0]; again.Member == pl.Member {
		t.Errorf("dead member %s still chosen: %+v", pl.Member, again)
	}

	p, fs = newFakes(t)
	pl = p.Place(ctx, []string{"k"})[0]
	fs[pl.Member].fail = fmt.Errorf("%w: RUN false", driver.ErrBuildFailed)
	if _, rep, err = p.BuildOn(ctx, pl, driver.Request{}, nil); !errors.Is(err, driver.ErrBuildFailed) || rep.FailedOver != "" {
		t.Fatalf("a failed step was retried: %+v, %v", rep, err)
	}
	total := 0
	for _, f := range fs {
		total += f.built
	}
	if total != 1 {
		t.Errorf("%d builds ran for one failed step", total)
	}
}

// TestCheckAndInfo: the pool is healthy while one member is, and offers
// only what every member offers.
func TestCheckAndInfo(t *testing.T) {
	ctx := context.Background()
	p, fs := newFakes(t)
	fs["a"].check = fmt.Errorf("%w: refused", driver.ErrDaemonUnreachable)
	fs["b"].check = fmt.Errorf("%w: refused", driver.ErrDaemonUnreachable)
	if err := p.Check(ctx); err != nil {
		t.Fatalf("one healthy member: %v", err)
	}
	if pl := p.Place(ctx, keys(4, 4)); pl[0].Member != "c" || pl[3].Member != "c" {
		t.Errorf("placed on a down member: %+v", pl)
	}
	info, err := p.Info(ctx)
	if err != nil || info.Supports(driver.FeaturePush) || !strings.HasPrefix(info.Endpoint, "pool of 3") {
		t.Errorf("info = %+v, %v", info, err)
	}
	// A member that cannot describe itself is left out of Info.
	fs["a"].info = fmt.Errorf("%w: no such daemon", driver.ErrDaemonUnreachable)
	if info, err = p.Info(ctx); err != nil || info.Supports(driver.FeaturePush) || info.Name != "fake" {
		t.Errorf("info with one member down = %+v, %v", info, err)
	}
	p, fs = newFakes(t)
	for _, f := range fs {
		f.check = fmt.Errorf("%w: refused", driver.ErrDaemonUnreachable)
		f.info = f.check
	}
	if _, err := p.Info(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) {
		t.Errorf("info with every member down: %v", err)
	}
	if err := p.Check(ctx); !errors.Is(err, driver.ErrDaemonUnreachable) {
		t.Errorf("all down: %v", err)
	}
	if _, err := New([]Member{{Name: "a", Builder: fs["a"]}, {Name: "a", Builder: fs["b"]}}, Options{}); !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("duplicate member: %v", err)
	}
}

// TestRequestKey: a Dockerfile that starts with the context's Dockerfile
// (a rendered override) keys on that base; any other keys on itself.
func TestRequestKey(t *testing.T) {
	ctx, other := t.TempDir(), t.TempDir()
	base := "FROM scratch\nCOPY busybox /bin/busybox\n"
	files := map[string]string{
		ctx + "/Dockerfile":   base,
		other + "/override":   base + "RUN true\n",
		other + "/unrelated":  "FROM scratch\nRUN other\n",
		other + "/Dockerfile": base,
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		df, want string
	}{
		{ctx + "/Dockerfile", Key([]byte(base))},
		{other + "/override", Key([]byte(base))},
		{other + "/unrelated", Key([]byte(files[other+"/unrelated"]))},
	} {
		got, err := RequestKey(driver.Request{Dockerfile: c.df, ContextDir: ctx})
		if err != nil || got != c.want {
			t.Errorf("RequestKey(%s) = %s, %v; want %s", c.df, got, err, c.want)
		}
	}
	if _, err := RequestKey(driver.Request{Dockerfile: other + "/missing"}); !errors.Is(err, driver.ErrInvalidDockerfile) {
		t.Errorf("missing Dockerfile: %v", err)
	}
}

// TestBuildAloneImportsTheBaseCache: a lone build on a pool with a shared
// cache imports its base's cache, keyed as a batch keys it.
func TestBuildAloneImportsTheBaseCache(t *testing.T) {
	dir := t.TempDir()
	base := "FROM scratch\nCOPY busybox /bin/busybox\n"
	if err := os.WriteFile(dir+"/Dockerfile", []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fake{name: "a"}
	p, err := New([]Member{{Name: "a", Builder: f}}, Options{Cache: "reg:5000/c"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Build(context.Background(), driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir}, nil); err != nil {
		t.Fatal(err)
	}
	want := CacheRef("reg:5000/c", Key([]byte(base)), "")
	if len(f.last.CacheFrom) != 1 || f.last.CacheFrom[0].Attrs["ref"] != want || !strings.HasPrefix(want, "reg:5000/c:base-") {
		t.Errorf("imports %+v, want %s", f.last.CacheFrom, want)
	}
}
