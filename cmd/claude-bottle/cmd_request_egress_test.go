package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
)

func TestRequestEgressInBottle(t *testing.T) {
	f := newCLIFixture(t)
	store := inBottleHost(t, f.home, "demo")
	got := withApplier(t)
	go func() {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if rs, _ := store.List("demo"); len(rs) == 1 {
				store.Approve(context.Background(), request.ApproveOptions{ID: rs[0].ID, By: "alice", Applier: cliApplier{got}})
				return
			}
		}
	}()
	r := f.run("", "request", "egress", "pypi.org", "example.com:8443", "--reason", "pip install")
	if r.code != 0 || !strings.Contains(r.out, "Approved: egress to pypi.org, example.com:8443") || !strings.Contains(r.out, "nothing restarts") {
		t.Errorf("approved: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.errOut)
	}
	if got.Kind != bottleapi.KindEgress || strings.Join(got.Hosts, " ") != "pypi.org example.com:8443" || got.Name != "pypi.org" {
		t.Errorf("applied %+v", got)
	}
	if r := f.run("", "request", "egress", "slow.example", "--reason", "r", "--wait", "1s"); r.code != inbottleTimedOut {
		t.Errorf("timed out: exit %d %q %q", r.code, r.out, r.errOut)
	}
	before := cliTree(t, f.home)
	wantOneLineError(t, f.run("", "request", "egress", "--reason", "r"), exitUsage, "at least one HOST")
	wantOneLineError(t, f.run("", "request", "egress", "http://pypi.org/", "--reason", "r"), exitUsage, "host")
	wantOneLineError(t, f.run("", "request", "egress", "pypi.org:0", "--reason", "r"), exitUsage, "port")
	wantOneLineError(t, f.run("", "request", "egress", "pypi.org"), exitUsage, "reason is empty")
	if cliTree(t, f.home) != before {
		t.Error("refused requests were stored")
	}
}
