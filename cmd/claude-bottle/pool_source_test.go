package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/pool"
)

// fakeSource is a driverSource whose drivers are fakeBuilders for one
// address, to test the pool's wiring without a daemon.
type fakeSource struct {
	cfg    driver.Config
	down   bool
	closed *int
}

type fakeBuilder struct{ fakeSource }

func (f fakeBuilder) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "buildkit", Endpoint: f.cfg.BuildKitAddr}, nil
}
func (f fakeBuilder) Check(context.Context) error {
	if f.down {
		return driver.ErrDaemonUnreachable
	}
	return nil
}
func (f fakeBuilder) Build(context.Context, driver.Request, driver.Sink) (*driver.Result, error) {
	return &driver.Result{}, nil
}

func (f *fakeSource) Open(_ context.Context, name string) (driver.Builder, error) {
	if name != "buildkit" && name != "docker" {
		return nil, driver.ErrNotFound
	}
	return fakeBuilder{*f}, nil
}
func (f *fakeSource) Default(context.Context) (string, string, error) { return "docker", "base", nil }
func (f *fakeSource) Close() error                                    { *f.closed++; return nil }

// TestPoolSource: "buildkit" opens one builder a member, each made with
// the member's own address and TLS; the pool is the default while a
// member is healthy; Close closes every source.
func TestPoolSource(t *testing.T) {
	s := config.Settings{
		DriverConfig: driver.Config{BuildKitTLS: driver.TLSConfig{CA: "global"}},
		Pool: []config.PoolMember{
			{Addr: "tcp://a:1", TLS: driver.TLSConfig{CA: "a-ca"}},
			{Addr: "unix:///b.sock", TLS: driver.TLSConfig{CA: "global"}},
		},
		PoolFrom: "--buildkit-addr",
	}
	closed := 0
	var made []driver.Config
	mk := func(c driver.Config) (driverSource, error) {
		made = append(made, c)
		return &fakeSource{cfg: c, down: c.BuildKitAddr == "tcp://a:1", closed: &closed}, nil
	}
	src, err := newPoolSource(s, mk)
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 3 || made[1].BuildKitAddr != "tcp://a:1" || made[1].BuildKitTLS.CA != "a-ca" || made[2].BuildKitTLS.CA != "global" {
		t.Fatalf("sources made with %+v", made)
	}
	ctx := context.Background()
	name, why, err := src.Default(ctx)
	if err != nil || name != "buildkit" || !strings.Contains(why, "pool of 2 BuildKit daemons, named by --buildkit-addr") {
		t.Errorf("Default = %q, %q, %v", name, why, err)
	}
	b, err := src.Open(ctx, "buildkit")
	if err != nil {
		t.Fatal(err)
	}
	p, ok := b.(*pool.Pool)
	if !ok || len(p.Members()) != 2 {
		t.Fatalf("Open(buildkit) = %T %v", b, b)
	}
	if pl := p.Place(ctx, []string{"k1", "k2"}); pl[0].Member != "unix:///b.sock" || pl[1].Member != "unix:///b.sock" {
		t.Errorf("placed on a down member: %+v", pl)
	}
	if d, err := src.Open(ctx, "docker"); err != nil || d.(fakeBuilder).cfg.BuildKitAddr != "" {
		t.Errorf("Open(docker) = %+v, %v; want the base source's", d, err)
	}
	if src.Close(); closed != 3 {
		t.Errorf("closed %d sources, want 3", closed)
	}
}

// TestWriteBuilders: the summary names each bottle's member and why, and
// a failover whole on one line; bottles that shared a build and builds
// with no pool say nothing.
func TestWriteBuilders(t *testing.T) {
	var w bytes.Buffer
	writeBuilders(&w, []batch.Outcome{
		{Slug: "a", Builder: "unix:///m1", BuilderReason: "owner of sha256:0123 by rendezvous hash"},
		{Slug: "b", Builder: "unix:///m2", BuilderReason: "next in sha256:0123's hash order after unix:///m1 died",
			FailedOver: "unix:///m1", FailoverError: "on unix:///m1: build daemon unreachable:\n  connection refused"},
		{Slug: "c", Builder: "unix:///m1", SharedWith: "a"},
		{Slug: "d"},
	})
	want := "bottle a: builder unix:///m1 (owner of sha256:0123 by rendezvous hash)\n" +
		"bottle b: builder unix:///m2 (next in sha256:0123's hash order after unix:///m1 died)\n" +
		"bottle b: failover: unix:///m1 died mid-build and the build was retried once on unix:///m2: on unix:///m1: build daemon unreachable: connection refused\n"
	if w.String() != want {
		t.Errorf("got\n%s\nwant\n%s", w.String(), want)
	}
}
