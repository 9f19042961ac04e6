package batch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/state"
)

// A bottle with a capability recorded but not built (--no-build) needs a
// build; BuildHeld builds it and records it, so it no longer does. A
// change that holds the bottle's lock makes the build wait, and says so.
func TestBuildHeldRecordsTheBuildAndWaitsForAChange(t *testing.T) {
	store, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.WriteFile(filepath.Join(repo, "Dockerfile"), []byte("FROM scratch\nCOPY x /x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resolve := func() *bottle.Plan {
		p, err := bottle.Resolve(store, bottle.Options{Slug: "demo", Repo: repo, RepoFrom: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	_, err = capability.Add(context.Background(), capability.Options{Store: store, Plan: resolve(), NoBuild: true, User: "tester"},
		capability.Capability{Name: "jq", Instructions: "RUN echo jq", Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	needsBuild := func() bool {
		st, err := capability.Inspect(store, "demo", repo)
		if err != nil {
			t.Fatal(err)
		}
		return st.NeedsBuild
	}
	if !needsBuild() {
		t.Fatal("a capability added with NoBuild does not need a build")
	}

	b, _ := store.Bottle("demo")
	unlock, err := b.LockState(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan string, 1)
	done := make(chan []Outcome, 1)
	go func() {
		outs, err := BuildHeld(context.Background(), store, []*bottle.Plan{resolve()}, Options{Builder: &recorder{}, Driver: "rec", User: "tester"},
			func(slug string) { waited <- slug })
		if err != nil {
			t.Error(err)
		}
		done <- outs
	}()
	select {
	case slug := <-waited:
		if slug != "demo" {
			t.Errorf("waited for %q", slug)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BuildHeld did not say it waits for the held bottle")
	}
	select {
	case <-done:
		t.Fatal("BuildHeld built while a change held the bottle")
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	var outs []Outcome
	select {
	case outs = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("BuildHeld did not build once the bottle was released")
	}
	if len(outs) != 1 || outs[0].Err != nil || outs[0].RecordErr != nil {
		t.Fatalf("outcomes = %+v", outs)
	}
	if needsBuild() {
		t.Error("the build was not recorded: the bottle still needs one")
	}
	log, err := capability.Log(store, "demo")
	if err != nil || len(log) != 2 || log[1].Action != capability.ActionBuilt || log[1].User != "tester" || log[1].ImageAfter != outs[0].ImageID {
		t.Errorf("audit log = %+v, %v", log, err)
	}
}
