package capability

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
)

func TestAddBuildsThenSwaps(t *testing.T) {
	w := newWorld(t)
	res := w.add("demo", "jq", "RUN echo jq > /etc/jq")
	latest, previous := bottle.RebuiltImage("demo"), bottle.PreviousImage("demo")
	if res.Image != latest || !res.Built || res.ImageAfter == "" || res.ImageBefore != "" {
		t.Fatalf("result = %+v", res)
	}
	override := w.file("demo", OverrideFile)
	if !strings.HasPrefix(override, repoDockerfile) || !strings.Contains(override, "# capability \"jq\": needed for jq (approved by tester at 2026-12-01T10:00:00Z)\nRUN echo jq > /etc/jq\n") {
		t.Errorf("override:\n%s", override)
	}
	if w.engine.tags[latest] != res.ImageAfter || w.engine.tags[latest] != contentDigest([]byte(override)) {
		t.Errorf("tags after the first add:\n%s", w.engine.list())
	}
	if strings.Contains(w.engine.list(), ":pending-") || strings.Contains(w.engine.list(), previous) {
		t.Errorf("a pending tag, or a :previous with nothing before:\n%s", w.engine.list())
	}
	st, _ := Inspect(w.store, "demo", w.repo)
	if st2, err := Inspect(w.store, "demo", ""); err != nil || st2.Stale || st2.BasePath != filepath.Join(w.repo, "Dockerfile") {
		t.Errorf("Inspect with no repo named = %+v, %v", st2, err)
	}
	c := st.Capabilities[0]
	if c.Name != "jq" || c.Kind != KindLayer || c.User != "root" || c.ApprovedBy != "tester" || !c.ApprovedAt.Equal(w.clock) || c.Source.Kind != SourceOperator || c.Reason != "needed for jq" {
		t.Errorf("capability = %+v", c)
	}
	if st.Stale || st.NeedsBuild || st.Base != SourceRepo {
		t.Errorf("status = %+v", st)
	}

	second := w.add("demo", "rg", "RUN echo rg > /etc/rg")
	if w.engine.tags[previous] != res.ImageAfter || w.engine.tags[latest] != second.ImageAfter || second.ImageBefore != res.ImageAfter {
		t.Errorf("after the second add:\n%s\nresult %+v", w.engine.list(), second)
	}
	if got := w.names("demo"); !reflect.DeepEqual(got, []string{"jq", "rg"}) {
		t.Errorf("list = %v", got)
	}
	if !strings.HasPrefix(w.file("demo", OverrideFile), override) {
		t.Error("the second layer changed the lines before it")
	}
	log, err := Log(w.store, "demo")
	if err != nil || len(log) != 2 || log[1].Action != ActionAdd || log[1].Capability != "rg" || log[1].User != "tester" ||
		log[1].ImageBefore != res.ImageAfter || log[1].ImageAfter != second.ImageAfter || log[1].BaseDigest != contentDigest([]byte(repoDockerfile)) {
		t.Errorf("audit = %+v, %v", log, err)
	}
}

func TestFailedBuildChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "jq", "RUN echo jq > /etc/jq")
	before, tags := w.stateTree("demo"), w.engine.list()
	_, err := Add(context.Background(), w.opts("demo"), Capability{Name: "broken", Instructions: "RUN echo about to fail\nRUN exit 3"})
	var be *BuildError
	if !errors.As(err, &be) || !errors.Is(err, driver.ErrBuildFailed) {
		t.Fatalf("Add = %v; want a *BuildError of class ErrBuildFailed", err)
	}
	if be.Capability != "broken" || be.Step != "[stage-0 6/6] RUN exit 3" || len(be.Lines) != 2 || be.Lines[1] != "something failed: no such thing" {
		t.Errorf("build error = %+v", be)
	}
	for _, want := range []string{`capability "broken" failed`, "nothing was changed", "something failed: no such thing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if after := w.stateTree("demo"); after != before {
		t.Errorf("a failed build changed the state:\n%s\nwas\n%s", after, before)
	}
	if got := w.engine.list(); got != tags {
		t.Errorf("a failed build changed the tags:\n%s\nwas\n%s", got, tags)
	}
	entries, _ := os.ReadDir(w.bottle("demo").Dir())
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestFailingBaseIsNotBlamedOnACapability: a step of the base that fails
// is said to be the base's.
func TestFailingBaseIsNotBlamedOnACapability(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "jq", "RUN echo jq")
	os.WriteFile(filepath.Join(w.repo, "Dockerfile"), []byte(repoDockerfile+"RUN exit 3\n"), 0o644)
	_, err := Rebase(context.Background(), w.opts("demo"))
	var be *BuildError
	if !errors.As(err, &be) || be.Capability != "" || !strings.Contains(err.Error(), "failed in its base") {
		t.Fatalf("Rebase = %v", err)
	}
}

func TestRollbackRestoresListOverrideAndTag(t *testing.T) {
	w := newWorld(t)
	a := w.add("demo", "a", "RUN echo a")
	overrideA := w.file("demo", OverrideFile)
	b := w.add("demo", "b", "RUN echo b")
	res, err := Rollback(context.Background(), w.opts("demo"))
	if err != nil {
		t.Fatal(err)
	}
	latest, previous := bottle.RebuiltImage("demo"), bottle.PreviousImage("demo")
	if got := w.names("demo"); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("list after rollback = %v", got)
	}
	if w.file("demo", OverrideFile) != overrideA {
		t.Error("override not restored")
	}
	if w.engine.tags[latest] != a.ImageAfter || w.engine.tags[previous] != b.ImageAfter || res.ImageBefore != b.ImageAfter || res.ImageAfter != a.ImageAfter {
		t.Errorf("tags after rollback:\n%s\nresult %+v", w.engine.list(), res)
	}
	// A second rollback goes forward again.
	if _, err := Rollback(context.Background(), w.opts("demo")); err != nil {
		t.Fatal(err)
	}
	if got := w.names("demo"); !reflect.DeepEqual(got, []string{"a", "b"}) || w.engine.tags[latest] != b.ImageAfter {
		t.Errorf("after the second rollback: %v\n%s", got, w.engine.list())
	}
	log, _ := Log(w.store, "demo")
	if len(log) != 4 || log[2].Action != ActionRollback || log[3].Action != ActionRollback {
		t.Errorf("audit = %+v", log)
	}
}

func TestRollbackWithNothingToRollBack(t *testing.T) {
	w := newWorld(t)
	if _, err := Rollback(context.Background(), w.opts("demo")); !errors.Is(err, ErrNothingToRollBack) {
		t.Fatalf("Rollback = %v", err)
	}
}

// TestRollbackRefusesWhenTheImageIsGone: the list, override and tag move
// together or not at all.
func TestRollbackRefusesWhenTheImageIsGone(t *testing.T) {
	w := newWorld(t)
	a := w.add("demo", "a", "RUN echo a")
	w.add("demo", "b", "RUN echo b")
	w.engine.remove(a.ImageAfter)
	before, tags := w.stateTree("demo"), w.engine.list()
	if _, err := Rollback(context.Background(), w.opts("demo")); err == nil || !strings.Contains(err.Error(), "no longer in the Docker engine") {
		t.Fatalf("Rollback = %v", err)
	}
	if w.stateTree("demo") != before || w.engine.list() != tags {
		t.Error("a refused rollback changed something")
	}
}

func TestRemoveLastReturnsToTheBaseImage(t *testing.T) {
	w := newWorld(t)
	a := w.add("demo", "a", "RUN echo a")
	res, err := Remove(context.Background(), w.opts("demo"), "a")
	if err != nil {
		t.Fatal(err)
	}
	if res.Image != bottle.BaseImage || res.Override != "" || w.file("demo", OverrideFile) != "<absent>" {
		t.Errorf("result %+v, override %q", res, w.file("demo", OverrideFile))
	}
	if _, ok := w.engine.tags[bottle.RebuiltImage("demo")]; ok || w.engine.tags[bottle.PreviousImage("demo")] != a.ImageAfter ||
		w.engine.tags[bottle.BaseImage] != contentDigest([]byte(repoDockerfile)) {
		t.Errorf("tags:\n%s", w.engine.list())
	}
	if got := w.builder.built[len(w.builder.built)-1]; got != repoDockerfile {
		t.Errorf("built %q, want the repo's Dockerfile", got)
	}
	// Rollback brings the capability and the rebuilt image back.
	if _, err := Rollback(context.Background(), w.opts("demo")); err != nil {
		t.Fatal(err)
	}
	if w.engine.tags[bottle.RebuiltImage("demo")] != a.ImageAfter || !reflect.DeepEqual(w.names("demo"), []string{"a"}) {
		t.Errorf("after rollback:\n%s", w.engine.list())
	}
}

// TestPhaseOneOverrideBecomesTheBase: a hand-written override is moved to
// base.Dockerfile on the first change, and rollback puts it back.
func TestPhaseOneOverrideBecomesTheBase(t *testing.T) {
	w := newWorld(t)
	hand := "FROM scratch\nCOPY busybox /bin/busybox\nUSER 1000\n"
	if err := w.bottle("demo").SetOverride([]byte(hand)); err != nil {
		t.Fatal(err)
	}
	w.add("demo", "a", "RUN echo a")
	if w.file("demo", BaseFile) != hand {
		t.Errorf("base.Dockerfile = %q", w.file("demo", BaseFile))
	}
	want := hand + "\n# capability \"a\": needed for a (approved by tester at 2026-12-01T10:00:00Z)\nUSER root\nRUN echo a\nUSER 1000\n"
	if got := w.file("demo", OverrideFile); got != want {
		t.Errorf("override:\n%s\nwant\n%s", got, want)
	}
	st, _ := Inspect(w.store, "demo", w.repo)
	if st.Base != SourceBottle || st.Stale {
		t.Errorf("status %+v", st)
	}
	if _, err := Rollback(context.Background(), w.opts("demo")); err != nil {
		t.Fatal(err)
	}
	if w.file("demo", BaseFile) != "<absent>" || w.file("demo", ListFile) != "<absent>" || w.file("demo", OverrideFile) != hand {
		t.Error("rollback did not restore the phase-1 state")
	}
}

func TestDriftAndRebase(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "jq", "RUN echo jq")
	changed := repoDockerfile + "RUN echo repo-v2\n"
	path := filepath.Join(w.repo, "Dockerfile")
	os.WriteFile(path, []byte(changed), 0o644)
	mtime := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	os.Chtimes(path, mtime, mtime)
	st, err := Inspect(w.store, "demo", w.repo)
	if err != nil || !st.Stale || st.StaleSince == nil || !st.StaleSince.Equal(mtime) {
		t.Fatalf("status after the repo changed = %+v, %v", st, err)
	}
	if st, err := Inspect(w.store, "demo", ""); err != nil || !st.Stale || st.BasePath != path {
		t.Errorf("with no repo named, drift is not checked against the recorded repo: %+v, %v", st, err)
	}
	if h := st.Hint(); !strings.Contains(h, "stale since") || !strings.Contains(h, "claude-bottle capability rebase demo") || !strings.Contains(h, path) {
		t.Errorf("hint = %q", h)
	}
	res, err := Rebase(context.Background(), w.opts("demo"))
	if err != nil || !res.Rebased {
		t.Fatalf("Rebase = %+v, %v", res, err)
	}
	override := w.file("demo", OverrideFile)
	if !strings.HasPrefix(override, changed) || !strings.Contains(override, "RUN echo jq") {
		t.Errorf("override after rebase:\n%s", override)
	}
	if st, _ := Inspect(w.store, "demo", w.repo); st.Stale || st.NeedsBuild {
		t.Errorf("status after rebase = %+v", st)
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"FROM", func() error {
			_, err := Add(ctx, w.opts("demo"), Capability{Name: "x", Instructions: "FROM alpine"})
			return err
		}, ErrInvalid},
		{"no parse", func() error {
			_, err := Add(ctx, w.opts("demo"), Capability{Name: "x", Instructions: "BOGUS x"})
			return err
		}, ErrInvalid},
		{"bad name", func() error {
			_, err := Add(ctx, w.opts("demo"), Capability{Name: "X/y", Instructions: "RUN x"})
			return err
		}, ErrInvalid},
		{"remove unknown", func() error { _, err := Remove(ctx, w.opts("demo"), "nope"); return err }, ErrNotFound},
		{"rebase nothing", func() error { _, err := Rebase(ctx, w.opts("demo")); return err }, ErrNoCapabilities},
	} {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(w.store.Root()); !os.IsNotExist(err) {
		t.Fatalf("refused changes wrote the state root: %v", err)
	}
	w.add("demo", "jq", "RUN echo jq")
	before, tags := w.stateTree("demo"), w.engine.list()
	if _, err := Add(ctx, w.opts("demo"), Capability{Name: "jq", Instructions: "RUN other"}); !errors.Is(err, ErrExists) {
		t.Errorf("a taken name: %v", err)
	}
	if _, err := Remove(ctx, w.opts("demo"), "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove unknown: %v", err)
	}
	if w.stateTree("demo") != before || w.engine.list() != tags {
		t.Error("refused changes changed the state or the tags")
	}
}

// TestConcurrentAddsLoseNothing: adds to one bottle from many goroutines,
// each as a separate command would make it, all end up in the list, with
// one audit line each.
func TestConcurrentAddsLoseNothing(t *testing.T) {
	w := newWorld(t)
	w.builder.delay = 10 * time.Millisecond
	names := []string{"a", "b", "c", "d", "e", "f"}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			o := w.opts("demo")
			o.Now = nil
			if _, err := Add(context.Background(), o, Capability{Name: n, Instructions: "RUN echo " + n}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := w.names("demo")
	if len(got) != len(names) {
		t.Fatalf("after %d concurrent adds the list is %v", len(names), got)
	}
	log, _ := Log(w.store, "demo")
	if len(log) != len(names) {
		t.Errorf("audit has %d lines", len(log))
	}
	r, _ := Render([]byte(repoDockerfile), mustList(t, w, "demo").Capabilities)
	if w.file("demo", OverrideFile) != string(r.Data) || w.engine.tags[bottle.RebuiltImage("demo")] != contentDigest(r.Data) {
		t.Error("the override or the tag does not match the final list")
	}
}

func mustList(t *testing.T, w *world, slug string) *List {
	l, ok, err := readList(w.bottle(slug))
	if !ok || err != nil {
		t.Fatalf("readList: %v, %v", ok, err)
	}
	return l
}

func TestNoBuildThenMarkBuilt(t *testing.T) {
	w := newWorld(t)
	first := w.add("demo", "a", "RUN echo a")
	o := w.opts("demo")
	o.NoBuild, o.Builder, o.Engine = true, nil, nil
	res, err := Add(context.Background(), o, Capability{Name: "b", Instructions: "RUN echo b"})
	if err != nil || res.Built {
		t.Fatalf("Add --no-build = %+v, %v", res, err)
	}
	if w.engine.tags[bottle.RebuiltImage("demo")] != first.ImageAfter {
		t.Error("--no-build moved the tag")
	}
	st, _ := Inspect(w.store, "demo", w.repo)
	if !st.NeedsBuild || !strings.Contains(st.Hint(), "claude-bottle build demo") {
		t.Fatalf("status = %+v", st)
	}
	data, _, _ := w.bottle("demo").ReadFileAt(OverrideFile)
	if err := MarkBuilt(context.Background(), w.store, "demo", FileDigest([]byte("other")), "sha256:x", "ci"); err != nil {
		t.Fatal(err)
	}
	if st, _ := Inspect(w.store, "demo", w.repo); !st.NeedsBuild {
		t.Error("MarkBuilt of another Dockerfile cleared the mark")
	}
	if err := MarkBuilt(context.Background(), w.store, "demo", FileDigest(data), "sha256:built", "ci"); err != nil {
		t.Fatal(err)
	}
	if st, _ := Inspect(w.store, "demo", w.repo); st.NeedsBuild || st.Built.ImageID != "sha256:built" {
		t.Errorf("after MarkBuilt: %+v", st)
	}
	log, _ := Log(w.store, "demo")
	if len(log) != 3 || !strings.Contains(log[1].Detail, "--no-build") || log[2].Action != ActionBuilt {
		t.Errorf("audit = %+v", log)
	}
}

func TestSetBaseMakesStaleAndResetClears(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "a", "RUN echo a")
	own := "FROM scratch\nUSER 1000\n"
	if err := SetBase(context.Background(), w.store, "demo", []byte(own), "tester"); err != nil {
		t.Fatal(err)
	}
	st, _ := Inspect(w.store, "demo", w.repo)
	if !st.Stale || !strings.Contains(st.Hint(), "bottle's base Dockerfile") {
		t.Errorf("after SetBase: %+v %q", st, st.Hint())
	}
	if _, err := Rebase(context.Background(), w.opts("demo")); err != nil {
		t.Fatal(err)
	}
	if got := w.file("demo", OverrideFile); !strings.HasPrefix(got, own) || !strings.Contains(got, "RUN echo a\nUSER 1000\n") {
		t.Errorf("override on the bottle's base:\n%s", got)
	}
	if err := Reset(context.Background(), w.store, "demo", "tester"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{OverrideFile, BaseFile, ListFile} {
		if w.file("demo", f) != "<absent>" {
			t.Errorf("reset left %s", f)
		}
	}
}

func TestShowAndProposeDiff(t *testing.T) {
	w := newWorld(t)
	p := &bottle.Plan{Slug: "demo", Repo: w.repo, Context: w.repo}
	d, err := ProposeDiff(w.store, p, Capability{Name: "jq", Instructions: "RUN echo jq", Reason: "json", ApprovedAt: w.clock}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff/propose-first.diff", []byte(strings.ReplaceAll(strings.ReplaceAll(d, w.repo, "REPO"), w.store.Root(), "HOME")))
	if _, err := os.Stat(w.store.Root()); !os.IsNotExist(err) {
		t.Error("ProposeDiff wrote state")
	}
	w.add("demo", "jq", "RUN echo jq")
	d, err = ProposeDiff(w.store, p, Capability{Name: "rg", Instructions: "RUN echo rg", ApprovedAt: w.clock}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff/propose-second.diff", []byte(strings.ReplaceAll(d, w.store.Root(), "HOME")))
	show, err := Show(w.store, "demo", w.repo)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "testdata/diff/show.diff", []byte(strings.ReplaceAll(strings.ReplaceAll(show, w.repo, "REPO"), w.store.Root(), "HOME")))
	if _, err := ProposeDiff(w.store, p, Capability{Name: "jq", Instructions: "RUN x"}, "alice"); !errors.Is(err, ErrExists) {
		t.Errorf("a taken name: %v", err)
	}
}

// TestFailedSwapPutsTheTagsBack: when the engine fails half-way through a
// swap, the tags go back where they were and the state is not written.
func TestFailedSwapPutsTheTagsBack(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "a", "RUN echo a")
	w.add("demo", "b", "RUN echo b")
	before, tags := w.stateTree("demo"), w.engine.list()
	w.engine.failUntag = ":pending-"
	if _, err := Add(context.Background(), w.opts("demo"), Capability{Name: "c", Instructions: "RUN echo c"}); err == nil || !strings.Contains(err.Error(), "refused to untag") {
		t.Fatalf("Add = %v", err)
	}
	w.engine.failUntag = ""
	for k := range w.engine.tags {
		if strings.Contains(k, ":pending-") {
			delete(w.engine.tags, k) // the fake refused to remove it; the real engine's would be gone
		}
	}
	if got := w.engine.list(); got != tags {
		t.Errorf("tags after a failed swap:\n%s\nwant\n%s", got, tags)
	}
	if w.stateTree("demo") != before {
		t.Error("a failed swap changed the state")
	}
}

// TestHoldMakesAChangeWait: a change applied while a build holds the
// bottle waits for it, and the build is recorded against the override it
// built.
func TestHoldMakesAChangeWait(t *testing.T) {
	w := newWorld(t)
	o := w.opts("demo")
	o.NoBuild, o.Builder, o.Engine = true, nil, nil
	if _, err := Add(context.Background(), o, Capability{Name: "a", Instructions: "RUN echo a"}); err != nil {
		t.Fatal(err)
	}
	hold, err := HoldBottles(context.Background(), w.store, []string{"demo", "no-state", "demo"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	done := make(chan error)
	go func() {
		o := w.opts("demo")
		o.Waiting = func() { close(waited) }
		_, err := Add(context.Background(), o, Capability{Name: "b", Instructions: "RUN echo b"})
		done <- err
	}()
	<-waited
	select {
	case err := <-done:
		t.Fatalf("Add finished while the bottle was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := hold.Built("demo", "sha256:held", "ci"); err != nil {
		t.Fatal(err)
	}
	if st, _ := Inspect(w.store, "demo", w.repo); st.NeedsBuild || st.Built.ImageID != "sha256:held" {
		t.Errorf("the held build was not recorded: %+v", st)
	}
	hold.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.names("demo"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("list = %v", got)
	}
	if _, err := os.Stat(filepath.Join(w.store.StateDir(), "no-state")); !os.IsNotExist(err) {
		t.Error("holding a bottle without state created its folder")
	}
}

// TestCapabilityThatNoLongerApplies: a rebase whose build fails in a
// capability's step names that capability, and leaves the bottle as it
// was (still stale).
func TestCapabilityThatNoLongerApplies(t *testing.T) {
	w := newWorld(t)
	w.add("demo", "jq", "RUN echo jq")
	w.add("demo", "tool", "RUN use-the-v1-tool")
	w.builder.fails = func(df, step string) bool {
		return strings.Contains(df, "v2") && strings.Contains(step, "use-the-v1-tool")
	}
	os.WriteFile(filepath.Join(w.repo, "Dockerfile"), []byte(repoDockerfile+"RUN echo v2\n"), 0o644)
	before, tags := w.stateTree("demo"), w.engine.list()
	_, err := Rebase(context.Background(), w.opts("demo"))
	var be *BuildError
	if !errors.As(err, &be) || be.Capability != "tool" || !strings.Contains(err.Error(), `capability "tool" failed`) {
		t.Fatalf("Rebase = %v", err)
	}
	if w.stateTree("demo") != before || w.engine.list() != tags {
		t.Error("a failed rebase changed the state or the tags")
	}
	if st, _ := Inspect(w.store, "demo", w.repo); !st.Stale {
		t.Error("after a failed rebase the bottle is no longer stale")
	}
}

func TestCompose(t *testing.T) {
	w := newWorld(t)
	p := &bottle.Plan{Slug: "demo", Repo: w.repo, Context: w.repo}
	c, err := Compose(w.store, p, "jq", Spec{Run: []string{"echo jq > /etc/jq"}})
	if err != nil || c.Kind != KindLayer || c.Instructions != "RUN echo jq > /etc/jq\n" {
		t.Errorf("Compose(run) = %+v, %v", c, err)
	}
	c, err = Compose(w.store, p, "pypi", Spec{Hosts: []string{"pypi.org:443", "[::1]:8080"}})
	if err != nil || c.Kind != KindEgress || c.Instructions != "pypi.org:443 [::1]:8080" {
		t.Errorf("Compose(hosts) = %+v, %v", c, err)
	}
	for _, bad := range []Spec{{}, {Run: []string{"x"}, Hosts: []string{"a"}}, {Hosts: []string{"evil.com\nRUN x"}}, {Hosts: []string{"a b"}}, {Packages: []string{"jq"}}} {
		if _, err := Compose(w.store, p, "x", bad); err == nil {
			t.Errorf("Compose(%+v) was accepted", bad)
		}
	}
	os.WriteFile(filepath.Join(w.repo, "Dockerfile"), []byte("FROM debian:bookworm\n"), 0o644)
	c, err = Compose(w.store, p, "tools", Spec{Packages: []string{"jq"}})
	if err != nil || !strings.Contains(c.Instructions, "apt-get install -y --no-install-recommends jq") {
		t.Errorf("Compose(packages) = %+v, %v", c, err)
	}
}

func TestEgressCapabilityBuildsNothing(t *testing.T) {
	w := newWorld(t)
	first := w.add("demo", "jq", "RUN echo jq > /etc/jq")
	n := len(w.builder.built)
	res, err := Add(context.Background(), w.opts("demo"), Capability{Name: "pypi", Kind: KindEgress, Instructions: "pypi.org files.pythonhosted.org:443", Reason: "pip"})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.builder.built) != n || !res.Built || !res.NothingToBuild || res.ImageAfter != first.ImageAfter {
		t.Errorf("adding an egress capability built %d images, result %+v", len(w.builder.built)-n, res)
	}
	if got := w.names("demo"); !reflect.DeepEqual(got, []string{"jq", "pypi"}) {
		t.Errorf("list = %v", got)
	}
	if st, _ := Inspect(w.store, "demo", w.repo); st.NeedsBuild || st.Stale {
		t.Errorf("status after an egress add = %+v", st)
	}
	if log, err := Log(w.store, "demo"); err != nil || log[len(log)-1].Detail != "egress: nothing to build" {
		t.Errorf("audit = %+v, %v", log, err)
	}
}
