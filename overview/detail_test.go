package overview

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
)

func TestBottleDetail(t *testing.T) {
	w := newWorld(t)
	p, err := bottle.Resolve(w.store, bottle.Options{Slug: "demo", Repo: w.repo, RepoFrom: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"jq", "curl"} {
		if _, err := capability.Add(context.Background(), capability.Options{Store: w.store, Plan: p, NoBuild: true, User: "op"},
			capability.Capability{Name: name, Instructions: "RUN echo " + name, Reason: "for " + name}); err != nil {
			t.Fatal(err)
		}
	}
	first, second := w.ask("demo", "make", 600), w.ask("demo", "gcc", 600)
	log := BuildLog{Action: "rebuild", Started: t0, Ended: t0.Add(time.Second), OK: true, Image: "sha256:abc", Log: "#1 DONE\n"}
	if err := SaveBuildLog(w.store, "demo", log); err != nil {
		t.Fatal(err)
	}

	d, err := Bottle(context.Background(), DetailOptions{Options: w.opts(), Driver: "buildkit", DriverReason: "named"}, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if d.Slug != "demo" || d.Pending != 2 || d.Capabilities != 2 || len(d.Problems) != 0 {
		t.Errorf("row = %+v", d.Row)
	}
	if d.Plan == nil || d.Plan.Driver != "buildkit" || d.Plan.Context != w.repo || d.Plan.Dockerfile != w.bottle("demo").DockerfilePath() || !d.Plan.Rebuilt {
		t.Errorf("plan = %+v", d.Plan)
	}
	if d.Base != capability.SourceRepo || !strings.HasSuffix(d.BasePath, "/Dockerfile") {
		t.Errorf("base = %q %q", d.Base, d.BasePath)
	}
	if !strings.Contains(d.Diff, "+RUN echo jq") || !strings.Contains(d.Diff, "+RUN echo curl") || !strings.HasPrefix(d.Diff, "--- ") {
		t.Errorf("diff:\n%s", d.Diff)
	}
	if len(d.CapabilityList) != 2 || d.CapabilityList[0].Name != "jq" {
		t.Errorf("capabilities = %+v", d.CapabilityList)
	}
	if len(d.Audit) != 2 || d.Audit[0].Capability != "curl" {
		t.Errorf("audit (newest first) = %+v", d.Audit)
	}
	if len(d.Requests) != 2 || d.Requests[0].ID != second.ID || d.Requests[1].ID != first.ID {
		t.Errorf("requests (newest first) = %v", d.Requests)
	}
	if d.LastBuild == nil || d.LastBuild.Action != "rebuild" || d.LastBuild.Log != log.Log || !d.LastBuild.OK {
		t.Errorf("last build = %+v", d.LastBuild)
	}
}

func TestBuildLogKeepsItsEnd(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("x", MaxBuildLog) + "the error at the end\n"
	if err := SaveBuildLog(w.store, "demo", BuildLog{Action: "rebuild", Log: long}); err != nil {
		t.Fatal(err)
	}
	got, err := LastBuild(w.store, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Log) > MaxBuildLog+10 || !strings.HasSuffix(got.Log, "the error at the end\n") || !strings.HasPrefix(got.Log, "...\n") {
		t.Errorf("log of %d bytes, ends %q", len(got.Log), got.Log[len(got.Log)-30:])
	}
	if none, err := LastBuild(w.store, "other"); none != nil || err != nil {
		t.Errorf("a bottle never built: %+v, %v", none, err)
	}
}
