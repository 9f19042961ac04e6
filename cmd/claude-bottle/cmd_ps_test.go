package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/state"
)

func TestPsTable(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)
	built, started := now.Add(-3*time.Hour), now.Add(-90*time.Second)
	since := now.Add(-time.Hour)
	rows := []overview.Row{
		{Slug: "alpha", Status: overview.Running, Image: overview.Image{Tag: "claude-bottle-rebuilt-alpha:latest", Kind: overview.KindRebuilt, ID: "sha256:0123456789abcdef", Created: &built},
			Drift: overview.Drift{Stale: true, StaleSince: &since}, Capabilities: 2, Pending: 1,
			Transcript: &state.SnapshotInfo{Taken: now.Add(-time.Hour), Files: 3, Bytes: 2048}, Cwd: "/work/alpha", CwdFrom: overview.CwdContainer,
			Container: &overview.Container{Name: "claude-bottle-alpha", State: "running", StartedAt: &started}},
		{Slug: "beta", Status: overview.Stopped, Image: overview.Image{Tag: "claude-bottle:latest", Kind: overview.KindBase}, Problems: []string{"capabilities.json is damaged\nrestore it"}},
	}
	var out bytes.Buffer
	if err := writeRows(&out, rows, now); err != nil {
		t.Fatal(err)
	}
	want := `SLUG   STATUS   IMAGE    ID            AGE  DRIFT  CAPS  PENDING  TRANSCRIPT                CWD          UPTIME
alpha  running  rebuilt  0123456789ab  3h   stale  2     1        2026-12-01 11:00 2.0 KiB  /work/alpha  1m
beta   stopped  base     -             -    -      0     0        -                         -            -
bottle beta: capabilities.json is damaged restore it
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestPsRefusals(t *testing.T) {
	f := newCLIFixture(t)
	wantOneLineError(t, f.run("", "ps", "--format", "yaml"), exitUsage, "--format", "table or json")
	wantOneLineError(t, f.run("", "ps", "extra"), exitUsage, "no arguments")
	r := f.run("", "ps", "--docker-host", "unix://"+f.tmp+"/no-engine.sock")
	wantOneLineError(t, r, exitFailure, "is dockerd running?")
	if strings.Contains(r.out, "SLUG") {
		t.Errorf("ps printed a table without the engine: %q", r.out)
	}
}

// TestDashboardRefusals: a dashboard that must not start says why in one
// line, exits 2 and writes nothing (no dashboard.url).
func TestDashboardRefusals(t *testing.T) {
	f := newCLIFixture(t)
	before := cliTree(t, f.home)
	wantOneLineError(t, f.run("", "dashboard", "--listen", "0.0.0.0:0"), exitUsage, "--tls-cert", "loopback")
	wantOneLineError(t, f.run("", "dashboard", "--listen", ":0"), exitUsage, "--tls-cert")
	wantOneLineError(t, f.run("", "dashboard", "--listen", "127.0.0.1:0", "--tls-cert", f.write("cert.pem", "x")), exitUsage, "both a certificate and a key")
	wantOneLineError(t, f.run("", "dashboard", "--listen", "127.0.0.1:0", "--tls-cert", f.write("cert.pem", "x"), "--tls-key", f.write("key.pem", "y")), exitUsage, "loading the TLS certificate")
	wantOneLineError(t, f.run("", "dashboard", "--listen", "nowhere"), exitUsage, "HOST:PORT")
	wantOneLineError(t, f.run("", "dashboard", "extra"), exitUsage, "no arguments")
	if after := cliTree(t, f.home); after != before {
		t.Errorf("a refused dashboard changed the state root:\n%s", after)
	}
	f.write("home/config.toml", "[dashboard]\nlisten = \"0.0.0.0:0\"\n")
	before = cliTree(t, f.home)
	wantOneLineError(t, f.run("", "dashboard"), exitUsage, "--tls-cert")
	if after := cliTree(t, f.home); after != before {
		t.Errorf("a dashboard refused for its config changed the state root:\n%s", after)
	}
	if _, err := os.Stat(filepath.Join(f.home, "dashboard.url")); !os.IsNotExist(err) {
		t.Errorf("dashboard.url written: %v", err)
	}
}

func TestStopRefusals(t *testing.T) {
	f := newCLIFixture(t)
	wantOneLineError(t, f.run("", "stop"), exitUsage, "SLUG")
	wantOneLineError(t, f.run("", "stop", "../etc"), exitUsage, "slug")
	wantOneLineError(t, f.run("", "stop", "demo", "--grace", "0s"), exitUsage, "--grace")
}
