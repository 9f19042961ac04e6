//go:build linux

package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	controlapi "github.com/moby/buildkit/api/services/control"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/pool"
)

// The pool tests run three real buildkitds (unix sockets, roots of their
// own) and a registry of their own, and build with the real buildkit
// driver through package batch, as `claude-bottle build` does. No Docker
// engine is used: every image goes to an OCI archive per bottle.

// poolSlugLabel is the label each bottle's build carries, so that a
// daemon's build history says which bottles it built.
const poolSlugLabel = "org.claude-bottle.test.slug"

// poolBatch is a batch of bottles over a few shared bases.
type poolBatch struct {
	ctxDir string
	out    string
	plans  []*bottle.Plan
}

// newPoolBatch makes n bottles, each with its own override on one of
// bases base Dockerfiles (the override starts with the base verbatim,
// as a rendered one does, and its repo holds the base). run is the
// bottle's own step; %s in it is the slug.
func newPoolBatch(t *testing.T, n, bases int, run string) *poolBatch {
	t.Helper()
	b := &poolBatch{ctxDir: testenv.BusyboxContext(t, nil), out: t.TempDir()}
	prefix := "pool" + randHex(3)
	for i := range n {
		slug := fmt.Sprintf("%s-%02d", prefix, i)
		base := poolBase(i % bases)
		repo := t.TempDir()
		testenv.WriteFiles(t, repo, map[string]string{"Dockerfile": base})
		override := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(override, []byte(base+fmt.Sprintf(run, slug)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		b.plans = append(b.plans, &bottle.Plan{
			Slug: slug, Repo: repo, Dockerfile: override, Context: b.ctxDir,
			Image: bottle.RebuiltImage(slug), Rebuilt: true,
		})
	}
	return b
}

// poolBase is base Dockerfile i: busybox and a file naming the base.
func poolBase(i int) string {
	return fmt.Sprintf("FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN echo base-%d > /base\n", i)
}

// options are the batch's options: an OCI archive per bottle, its slug
// as a label, jobs at once.
func (b *poolBatch) options(builder driver.Builder, jobs int) batch.Options {
	o := batch.Options{
		Jobs: jobs, Builder: builder, Driver: "buildkit", Bottles: map[string]batch.Settings{},
		Request: driver.Request{NoLoad: true, Outputs: []driver.Output{{Type: "oci", Attrs: map[string]string{"dest": filepath.Join(b.out, "{slug}.tar")}}}},
	}
	for _, p := range b.plans {
		o.Bottles[p.Slug] = batch.Settings{Labels: map[string]string{poolSlugLabel: p.Slug}}
	}
	return o
}

// keys are the batch's routing keys, in plan order.
func (b *poolBatch) keys() []string {
	var ks []string
	for _, p := range b.plans {
		ks = append(ks, batch.RouteKey(p))
	}
	return ks
}

// checkBuilt fails t unless every bottle built and its archive holds the
// bottle's own file, with want in it.
func (b *poolBatch) checkBuilt(t *testing.T, outs []batch.Outcome, want func(slug string) string) {
	t.Helper()
	for _, o := range outs {
		if !o.OK() {
			t.Errorf("bottle %s: %s: %s", o.Slug, o.Status, o.ErrorLine())
			continue
		}
		f, err := os.Open(filepath.Join(b.out, o.Slug+".tar"))
		if err != nil {
			t.Errorf("bottle %s: %v", o.Slug, err)
			continue
		}
		ok, err := tarContains(f, []byte(want(o.Slug)))
		f.Close()
		if err != nil || !ok {
			t.Errorf("bottle %s: its archive lacks %q (%v)", o.Slug, want(o.Slug), err)
		}
	}
}

// startPool starts three buildkitds trusting reg and makes a pool of the
// buildkit driver on each, closed when t ends.
func startPool(t *testing.T, reg *testenv.Registry) (*pool.Pool, []*testenv.BuildkitDaemon) {
	t.Helper()
	var ds []*testenv.BuildkitDaemon
	var ms []pool.Member
	for range 3 {
		d := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{Registries: []string{reg.Host}})
		ds = append(ds, d)
		ms = append(ms, pool.Member{Name: d.Addr, Builder: bkBuilder(t, driver.Config{BuildKitAddr: d.Addr})})
	}
	p, err := pool.New(ms, pool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, ds
}

// builtSlugs lists the bottles whose builds a buildkitd finished, by the
// slug label of each build in its history.
func builtSlugs(t *testing.T, d *testenv.BuildkitDaemon) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stream, err := c.ControlClient().ListenBuildHistory(ctx, &controlapi.BuildHistoryRequest{EarlyExit: true})
	if err != nil {
		t.Fatalf("ListenBuildHistory on %s: %v", d.Addr, err)
	}
	out := map[string]bool{}
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("ListenBuildHistory on %s: %v", d.Addr, err)
		}
		if r := ev.Record; r != nil && r.CompletedAt != nil && r.Error == nil {
			if s := r.FrontendAttrs["label:"+poolSlugLabel]; s != "" {
				out[s] = true
			}
		}
	}
}

// TestPoolSpreadFailoverAndSharedCache: 16 bottles on four bases spread
// over three buildkitds as rendezvous hashing with bounded load says,
// each built where its outcome says; a second batch survives one member
// being killed in its middle, every bottle built correctly and each
// moved build reported; and a fresh buildkitd builds bottles whose cache
// the first batch exported to the registry with every step cached.
func TestPoolSpreadFailoverAndSharedCache(t *testing.T) {
	reg := testenv.StartRegistry(t)
	p, ds := startPool(t, reg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()

	// 1. Spread: where the hashing says, and nowhere else.
	b := newPoolBatch(t, 16, 4, "RUN echo bottle=%s > /slug")
	o := b.options(p, 6)
	o.Cache, o.CacheExport = reg.Host+"/cb/pool-cache", true
	want := pool.Place(b.keys(), p.Members(), nil, pool.DefaultLoadFactor)
	outs := batch.Build(ctx, b.plans, o)
	b.checkBuilt(t, outs, func(s string) string { return "bottle=" + s })
	perMember := map[string]map[string]bool{}
	for i, out := range outs {
		if out.Builder != want[i].Member || out.BuilderReason == "" || out.FailedOver != "" {
			t.Errorf("bottle %s built on %q (%s), want %q (%s)", out.Slug, out.Builder, out.BuilderReason, want[i].Member, want[i].Reason)
		}
		if perMember[out.Builder] == nil {
			perMember[out.Builder] = map[string]bool{}
		}
		perMember[out.Builder][out.Slug] = true
	}
	limit := pool.Capacity(16, 3, pool.DefaultLoadFactor)
	for _, d := range ds {
		got := builtSlugs(t, d)
		if len(got) != len(perMember[d.Addr]) || len(got) > limit {
			t.Errorf("%s built %d bottles, the outcomes say %d (limit %d)", d.Addr, len(got), len(perMember[d.Addr]), limit)
		}
		for s := range perMember[d.Addr] {
			if !got[s] {
				t.Errorf("bottle %s: outcome says %s, its history has no such build", s, d.Addr)
			}
		}
	}
	t.Logf("spread: %d bottles in %v: %v", len(outs), since(t0), loads(perMember))

	// 2. Failover: kill the busiest member once it is building.
	t1 := time.Now()
	b2 := newPoolBatch(t, 16, 4, "RUN sleep 1 && echo again=%s > /slug")
	want = pool.Place(b2.keys(), p.Members(), nil, pool.DefaultLoadFactor)
	victim := busiest(want)
	var vd *testenv.BuildkitDaemon
	for _, d := range ds {
		if d.Addr == victim {
			vd = d
		}
	}
	done := make(chan []batch.Outcome, 1)
	go func() { done <- batch.Build(ctx, b2.plans, b2.options(p, 6)) }()
	waitBuilding(t, vd, 30*time.Second)
	vd.Kill()
	outs = <-done
	b2.checkBuilt(t, outs, func(s string) string { return "again=" + s })
	moved := 0
	for i, out := range outs {
		switch {
		case out.FailedOver != "":
			if moved == 0 {
				t.Logf("failover reported: %s -> %s after %.1fs: %s", out.FailedOver, out.Builder, out.Duration, out.FailoverError)
			}
			moved++
			if out.FailedOver != victim || out.Builder == victim || !strings.Contains(out.FailoverError, victim) {
				t.Errorf("bottle %s: failover from %q to %q (%s)", out.Slug, out.FailedOver, out.Builder, out.FailoverError)
			}
		case out.Builder != want[i].Member:
			t.Errorf("bottle %s built on %q, placed on %q, and no failover reported", out.Slug, out.Builder, want[i].Member)
		}
	}
	if moved == 0 {
		t.Errorf("%s was killed mid-batch and no build reports a failover", victim)
	}
	t.Logf("failover: %d bottles in %v, %d moved off %s", len(outs), since(t1), moved, victim)
	// The next batch passes the dead member over, saying why.
	skipped := 0
	for _, pl := range p.Place(ctx, b2.keys()) {
		if pl.Member == victim || pl.Member == "" {
			t.Errorf("placed on %q after %s died: %s", pl.Member, victim, pl.Reason)
		}
		if strings.Contains(pl.Reason, victim+" failed its health check") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Errorf("no placement says %s was passed over", victim)
	}

	// 3. A fresh member: every step from the registry cache.
	t2 := time.Now()
	fresh := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{Registries: []string{reg.Host}})
	single, err := pool.New([]pool.Member{{Name: fresh.Addr, Builder: bkBuilder(t, driver.Config{BuildKitAddr: fresh.Addr})}}, pool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.plans = b.plans[:4] // one bottle a base
	b.out = t.TempDir()
	o = b.options(single, 4)
	o.Cache = reg.Host + "/cb/pool-cache"
	outs = batch.Build(ctx, b.plans, o)
	b.checkBuilt(t, outs, func(s string) string { return "bottle=" + s })
	for _, out := range outs {
		if out.Status != batch.StatusCached || out.Steps.Total < 4 || out.Steps.Cached != out.Steps.Total {
			t.Errorf("bottle %s on a fresh member: %s, %d/%d steps cached", out.Slug, out.Status, out.Steps.Cached, out.Steps.Total)
		}
	}
	t.Logf("fresh member: %d bottles all cached in %v; whole test %v", len(outs), since(t2), since(t0))
}

// busiest is the member the most builds are placed on.
func busiest(pls []pool.Placement) string {
	n := map[string]int{}
	best := ""
	for _, p := range pls {
		n[p.Member]++
		if n[p.Member] > n[best] {
			best = p.Member
		}
	}
	return best
}

// waitBuilding waits until d runs a build.
func waitBuilding(t *testing.T, d *testenv.BuildkitDaemon, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if len(d.RunningSteps()) > 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s ran no step within %v", d.Addr, limit)
}

func loads(per map[string]map[string]bool) map[string]int {
	out := map[string]int{}
	for m, s := range per {
		out[m] = len(s)
	}
	return out
}

// TestPoolCLI runs a pool through the CLI and its driver plugins: the
// config's [buildkit] pool and cache, `drivers` listing the members'
// health, `plan` naming each bottle's member and why, and `build`
// reporting it in its summary and metadata file; two --buildkit-addr
// flags make a pool too. One member is a unix socket, the other TCP with
// mutual TLS from a CA of its own, named by the member's own TLS keys.
func TestPoolCLI(t *testing.T) {
	reg := testenv.SharedRegistry(t)
	a := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{Registries: []string{reg.Host}})
	b := testenv.StartBuildkitd(t, testenv.BuildkitdOptions{TCP: true, Registries: []string{reg.Host}})
	c := newFCLI(t)
	repo := faultRepo(t, nil)
	slugs := []string{faultSlug(t, "pa"), faultSlug(t, "pb"), faultSlug(t, "pc")}
	c.setOverride(slugs[0], testenv.BusyboxDockerfile+"RUN echo one-"+slugs[0]+" > /who\n")
	c.setOverride(slugs[1], testenv.BusyboxDockerfile+"RUN echo two-"+slugs[1]+" > /who\n")
	cache := reg.Host + "/cb/cli-pool-" + randHex(3)
	testenv.WriteFiles(t, c.home, map[string]string{"config.toml": fmt.Sprintf(
		"[buildkit]\npool = [%q, { addr = %q, tls_ca = %q, tls_cert = %q, tls_key = %q }]\ncache = %q\n",
		a.Addr, b.Addr, b.Certs.CA, b.Certs.ClientCert, b.Certs.ClientKey, cache)})

	res := c.must(0, "drivers")
	if !strings.Contains(res.Stdout, "buildkit pool") || !lineWith(res.Stdout, a.Addr, "healthy") || !lineWith(res.Stdout, b.Addr, "healthy") {
		t.Errorf("drivers does not list both members healthy:\n%s", res.Stdout)
	}
	res = c.must(0, "plan", "--repo", repo, slugs[0])
	if !containsAny(res.Stdout, "builder  "+a.Addr, "builder  "+b.Addr) || !strings.Contains(res.Stdout, "rendezvous") {
		t.Errorf("plan names no member:\n%s", res.Stdout)
	}

	out, meta := t.TempDir(), filepath.Join(t.TempDir(), "meta.json")
	args := append([]string{"build", "--repo", repo, "--progress", "plain", "--cache-export", "--metadata-file", meta,
		"--output", "type=oci,dest=" + filepath.Join(out, "{slug}.tar")}, slugs...)
	res = c.must(0, args...)
	for _, s := range slugs {
		if !containsAny(res.Stderr, "bottle "+s+": builder "+a.Addr, "bottle "+s+": builder "+b.Addr) && !strings.Contains(res.Stderr, "bottle "+s+": builder") {
			t.Errorf("the build summary names no member for %s:\n%s", s, res.Stderr)
		}
	}
	m := readFile(t, meta)
	if strings.Count(m, `"builder": "`) != 3 || !strings.Contains(m, `"builder": "`+a.Addr) || !strings.Contains(m, `"builder": "`+b.Addr) || !strings.Contains(m, `"builder_reason"`) {
		t.Errorf("metadata lacks each bottle's member:\n%s", m)
	}
	if !strings.Contains(manifestList(t, reg.Host, strings.TrimPrefix(cache, reg.Host+"/")), "bottle-"+slugs[0]) {
		t.Errorf("--cache-export wrote no cache for %s to %s", slugs[0], cache)
	}

	// Two flags make a pool of their own, over the config's.
	os.Remove(filepath.Join(c.home, "config.toml"))
	res = c.must(0, "plan", "--repo", repo, "--buildkit-addr", b.Addr, "--buildkit-addr", a.Addr,
		"--buildkit-tls-ca", b.Certs.CA, "--buildkit-tls-cert", b.Certs.ClientCert, "--buildkit-tls-key", b.Certs.ClientKey, slugs[1])
	if !strings.Contains(res.Stdout, "pool of 2 BuildKit daemons, named by --buildkit-addr") || !containsAny(res.Stdout, "builder  "+a.Addr, "builder  "+b.Addr) {
		t.Errorf("plan with two --buildkit-addr:\n%s", res.Stdout)
	}
}

// lineWith reports whether a line of text holds every one of subs.
func lineWith(text string, subs ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		all := true
		for _, x := range subs {
			all = all && strings.Contains(l, x)
		}
		if all {
			return true
		}
	}
	return false
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// manifestList returns the tags of a registry repository, as the
// registry's tags list says them.
func manifestList(t *testing.T, host, repo string) string {
	t.Helper()
	resp, err := http.Get("http://" + host + "/v2/" + repo + "/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}
