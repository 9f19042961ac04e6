//go:build linux

package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/dashboard"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/overview"
)

// browser drives the dashboard in headless chromium: the token's way in,
// the rows of the prepared state, every action by clicking (approve, deny,
// rebuild, rebase, roll back, stop), and rows that change with no reload
// when an image is rebuilt from outside.
func (w *dashWorld) browser(t *testing.T) {
	w.t = t
	t.Run("a forgotten token", w.forgottenToken)
	ctx := newTab(t, 4*time.Minute)
	t.Run("the overview", func(t *testing.T) { w.t = t; w.seeOverview(ctx) })
	t.Run("approve by clicking", func(t *testing.T) { w.t = t; w.approveByClicking(ctx) })
	t.Run("live rows", func(t *testing.T) { w.t = t; w.liveRows(ctx) })
	t.Run("rebuild, rebase and roll back", func(t *testing.T) { w.t = t; w.buildActions(ctx) })
	t.Run("stop", func(t *testing.T) { w.t = t; w.stopByClicking(ctx) })
}

// do runs chromedp actions, failing the test with what was being done.
func (w *dashWorld) do(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		w.fail(ctx, what, err)
	}
}

// value runs one chromedp action that gives a value.
func value[T any](w *dashWorld, ctx context.Context, what string, a chromedp.Action[T]) T {
	w.t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		w.fail(ctx, what, err)
	}
	return v
}

// fail ends the test with what was being done and the page as it was.
func (w *dashWorld) fail(ctx context.Context, what string, err error) {
	w.t.Helper()
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	w.t.Fatalf("%s: %v\nthe page's main:\n%.3000s", what, err, html)
}

// poll waits until the JavaScript expression is true.
func poll(expr string, timeout time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(timeout))
}

func css(s string) chromedp.CSS { return chromedp.CSS(s) }

func row(slug string) string { return `#bottles tbody tr[data-slug="` + slug + `"]` }

// text reads the text of the element selector names, waiting for it to
// exist. It looks the element up and reads it in one evaluation: the page
// re-renders its panels on every event, and a node found by one call and
// read by another may be a detached copy of an earlier render by then.
func (w *dashWorld) text(ctx context.Context, selector string) string {
	w.t.Helper()
	type found struct{ Text string }
	expr := `(() => { const e = document.querySelector(` + jsString(selector) + `); return e ? {text: e.textContent} : null; })()`
	res := value(w, ctx, "reading "+selector, chromedp.Poll[found](expr, chromedp.WithPollingTimeout(30*time.Second)))
	return strings.TrimSpace(res.Text)
}

// forgottenToken: the dashboard without its token answers 401 with a page
// that says where the address is, and nothing of the bottles.
func (w *dashWorld) forgottenToken(t *testing.T) {
	w.t = t
	ctx := newIncognitoTab(t, time.Minute)
	w.do(ctx, "opening the dashboard without its token", chromedp.Navigate(w.base))
	body := value(w, ctx, "reading the page", chromedp.Text(css("body")))
	if !strings.Contains(body, "dashboard.url") || !strings.Contains(body, "needs its token") || strings.Contains(body, w.a) {
		t.Errorf("the page without token says:\n%s", body)
	}
	screenshot(t, ctx, "dashboard-token-needed")
}

// seeOverview: the address with the token opens the overview, the token
// leaves the address bar, and every bottle of the state shows as the
// CLI made it.
func (w *dashWorld) seeOverview(ctx context.Context) {
	t := w.t
	w.do(ctx, "opening the dashboard's address", chromedp.Navigate(w.url), chromedp.WaitVisible(css(row(w.r))))
	loc := value(w, ctx, "reading the address bar", chromedp.Location())
	if loc != w.base || strings.Contains(loc, "token") {
		t.Errorf("the address bar says %q after the first visit, want %q", loc, w.base)
	}
	for slug, want := range map[string]overview.Status{w.a: overview.Waiting, w.b: overview.Stopped, w.r: overview.Running} {
		if got := w.text(ctx, row(slug)+" td.status"); got != string(want) {
			t.Errorf("bottle %s shows %q, want %q", slug, got, want)
		}
	}
	if got, want := w.text(ctx, row(w.a)+" td.image-id"), shortHex(mustImageID(t, bottle.RebuiltImage(w.a))); got != want {
		t.Errorf("bottle a's image shows %q, want %q", got, want)
	}
	if got := w.text(ctx, row(w.r)+" td.cwd"); got != w.cwd {
		t.Errorf("bottle r's cwd shows %q, want %q", got, w.cwd)
	}
	if got := w.text(ctx, row(w.a)+" td.caps"); got != "1" {
		t.Errorf("bottle a shows %s capabilities, want 1", got)
	}
	w.do(ctx, "seeing the request waiting", chromedp.WaitVisible(css(`#waiting .request button.approve`)))
	screenshot(t, ctx, "dashboard-overview")
}

// approveByClicking: on bottle a's page, Approve builds the request into
// its image while the page shows the build's steps and log, then the
// outcome; the request is applied and the image has it.
func (w *dashWorld) approveByClicking(ctx context.Context) {
	t := w.t
	open, err := w.requests.List(w.a)
	if err != nil || len(open) != 1 {
		t.Fatalf("requests of a: %v, %v", open, err)
	}
	id := open[0].ID
	before := mustImageID(t, bottle.RebuiltImage(w.a))
	card := `#requests [data-request="` + id + `"]`
	w.do(ctx, "opening bottle a's page", chromedp.Click(css(row(w.a)+` td.slug a`)), chromedp.WaitVisible(css(card+` button.approve`)))
	start := time.Now()
	w.do(ctx, "clicking Approve", chromedp.Click(css(card+` button.approve`)))
	outcome := w.waitJob(ctx, "")
	t.Logf("approve by clicking: built and swapped in %.1fs", time.Since(start).Seconds())
	if !strings.Contains(outcome, "approved") || !strings.Contains(outcome, "tree") {
		t.Errorf("the job's outcome says %q", outcome)
	}
	r, err := w.requests.Get(w.a, id)
	if err != nil || r.State != bottleapi.StateApplied {
		t.Fatalf("request %s after the click: %+v, %v", id, r, err)
	}
	after := mustImageID(t, bottle.RebuiltImage(w.a))
	if after == before || r.ImageID != after {
		t.Errorf("image %s -> %s, the request records %s", before, after, r.ImageID)
	}
	if out := testenv.RunImage(t, bottle.RebuiltImage(w.a), "cat", "/etc/jq", "/etc/tree"); out != "jq\ntree" {
		t.Errorf("the new image holds %q", out)
	}
	// The outcome can be drawn from an earlier event than the one with the
	// whole log: wait (bounded) for the log to name the step.
	logShows := `(() => { const p = document.querySelector("#job pre.log"); return !!p && p.textContent.includes("echo tree > /etc/tree"); })()`
	if _, err := chromedp.Run(ctx, poll(logShows, 20*time.Second)); err != nil {
		var j dashboard.Job
		w.get("/api/jobs/"+w.jobID(ctx), &j)
		t.Errorf("the page's log never named the step (%v); the page shows:\n%s\nthe job as the API gives it: %d steps, log:\n%s", err, w.text(ctx, "#job"), len(j.Steps), j.Log)
	}
	if steps := value(w, ctx, "counting the build's steps", chromedp.Evaluate[int](`document.querySelectorAll("#job ol.steps li").length`)); steps == 0 {
		t.Errorf("the page showed no steps of the build")
	}
	w.do(ctx, "seeing the new image on the page", poll(`document.getElementById("image-id").textContent === `+jsString(after), 20*time.Second))

	// Edit, then approve: the operator's instructions are built, and the
	// request records what changed.
	edit := w.ask(w.a, bottleapi.CreateRequest{Name: "fmt", Run: []string{"echo asked > /etc/fmt"}, Reason: "format files"})
	card = `#requests [data-request="` + edit.ID + `"]`
	old := w.jobID(ctx)
	w.do(ctx, "editing the request's instructions", chromedp.WaitVisible(css(card+` button.edit`)), chromedp.Click(css(card+` button.edit`)),
		chromedp.WaitVisible(css(card+` textarea`)), chromedp.SetValue(css(card+` textarea`), "echo edited > /etc/fmt\n"),
		chromedp.Click(css(card+` button.approve-edited`)))
	w.waitJob(ctx, old)
	r, err = w.requests.Get(w.a, edit.ID)
	if err != nil || r.State != bottleapi.StateApplied || r.Edited == nil || !strings.Contains(r.Edited.Summary, "echo edited > /etc/fmt") {
		t.Errorf("the edited request: %+v, %v", r, err)
	}
	if out := testenv.RunImage(t, bottle.RebuiltImage(w.a), "cat", "/etc/fmt"); out != "edited" {
		t.Errorf("/etc/fmt holds %q, want the operator's edit", out)
	}
	screenshot(t, ctx, "dashboard-bottle")
}

// waitJob waits for the bottle page's job panel to show a job other than
// old ended, fails the test unless it succeeded, and returns its outcome.
func (w *dashWorld) waitJob(ctx context.Context, old string) string {
	w.t.Helper()
	type jobState struct{ ID, State, Outcome string }
	expr := `(() => { const j = document.getElementById("job");
		if (!j || j.hidden || j.dataset.job === ` + jsString(old) + ` || j.dataset.state === "running") return null;
		const o = j.querySelector(".outcome");
		return {id: j.dataset.job, state: j.dataset.state, outcome: o ? o.textContent : ""}; })()`
	res := value(w, ctx, "waiting for the job's outcome", chromedp.Poll[jobState](expr, chromedp.WithPollingTimeout(3*time.Minute)))
	if res.State != "succeeded" {
		w.t.Fatalf("job %s %s: %s", res.ID, res.State, res.Outcome)
	}
	return res.Outcome
}

func (w *dashWorld) jobID(ctx context.Context) string {
	id, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("job") || {dataset: {}}).dataset.job || ""`))
	return id
}

// liveRows: on the overview, with no reload, a request that arrives shows
// up and is denied by clicking (with its reason asked first), and bottle
// b's row takes the image the CLI rebuilds it with.
func (w *dashWorld) liveRows(ctx context.Context) {
	t := w.t
	w.do(ctx, "opening the overview", chromedp.Navigate(w.base), chromedp.WaitVisible(css(row(w.b))),
		chromedp.Evaluate[chromedp.Void](`window.cbNotReloaded = "yes"`))

	r := w.ask(w.b, bottleapi.CreateRequest{Name: "curl", Run: []string{"echo curl > /etc/curl"}, Reason: "fetch a page"})
	card := `#waiting [data-request="` + r.ID + `"]`
	w.do(ctx, "seeing the new request arrive", chromedp.WaitVisible(css(card+" button.deny")))
	w.do(ctx, "denying it", chromedp.Click(css(card+" button.deny")), chromedp.WaitVisible(css(`#confirm[open] #confirm-input`)),
		chromedp.SendKeys(css(`#confirm-input`), "use wget, it is in the image"), chromedp.Click(css(`#confirm-ok`)),
		chromedp.WaitNotPresent(css(card)))
	got, err := w.requests.Get(w.b, r.ID)
	if err != nil || got.State != bottleapi.StateDenied || got.DenyReason != "use wget, it is in the image" {
		t.Errorf("request after the denial: %+v, %v", got, err)
	}

	before := mustImageID(t, bottle.RebuiltImage(w.b))
	own := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(own, []byte(testenv.BusyboxDockerfile+"RUN echo b-v2 > /etc/version\n"), 0o644)
	w.plain(0, "state", "set-dockerfile", w.b, own)
	w.run(0, "build", w.b, "--repo", w.repo, "--progress", "quiet")
	after := mustImageID(t, bottle.RebuiltImage(w.b))
	if after == before {
		t.Fatal("the CLI's rebuild gave the same image")
	}
	start := time.Now()
	w.do(ctx, "watching bottle b's row take the new image", poll(`(document.querySelector(`+jsString(row(w.b)+" td.image-id")+`) || {}).textContent === `+jsString(shortHex(after)), 30*time.Second))
	t.Logf("the row showed the rebuilt image %.2fs after the build ended", time.Since(start).Seconds())
	mark := value(w, ctx, "checking the page was not reloaded", chromedp.Evaluate[string](`window.cbNotReloaded || "reloaded"`))
	if mark != "yes" {
		t.Error("the page was reloaded")
	}
	screenshot(t, ctx, "dashboard-overview-live")
}

// buildActions: Rebuild on b's page; Rebase on a's once the repo's
// Dockerfile changed (enabled only then); Roll back (after confirming)
// moves a's tags back as `capability rollback` does.
func (w *dashWorld) buildActions(ctx context.Context) {
	t := w.t
	w.do(ctx, "opening bottle b's page", chromedp.Navigate(w.base+"bottles/"+w.b), chromedp.WaitVisible(css(`#act-rebuild`)))
	w.do(ctx, "clicking Rebuild", chromedp.Click(css(`#act-rebuild`)))
	if out := w.waitJob(ctx, ""); !strings.Contains(out, "built") {
		t.Errorf("rebuild said %q", out)
	}

	w.do(ctx, "opening bottle a's page", chromedp.Navigate(w.base+"bottles/"+w.a), chromedp.WaitVisible(css(`#act-rebase[disabled]`)))
	df := filepath.Join(w.repo, "Dockerfile")
	os.WriteFile(df, []byte(readFile(t, df)+"RUN echo repo-v2 > /etc/repo-version\n"), 0o644)
	w.do(ctx, "seeing a go stale", chromedp.WaitVisible(css(`#act-rebase:not([disabled])`)))
	beforeRebase := mustImageID(t, bottle.RebuiltImage(w.a))
	w.do(ctx, "clicking Rebase", chromedp.Click(css(`#act-rebase`)))
	first := w.jobAfterClick(ctx, "")
	if out := testenv.RunImage(t, bottle.RebuiltImage(w.a), "cat", "/etc/tree", "/etc/repo-version"); out != "tree\nrepo-v2" {
		t.Errorf("the rebased image holds %q", out)
	}
	w.do(ctx, "seeing a no longer stale", chromedp.WaitVisible(css(`#act-rebase[disabled]`)))

	rebased := mustImageID(t, bottle.RebuiltImage(w.a))
	w.do(ctx, "clicking Roll back", chromedp.Click(css(`#act-rollback`)), chromedp.WaitVisible(css(`#confirm[open]`)))
	w.do(ctx, "cancelling", chromedp.Click(css(`#confirm-cancel`)), chromedp.WaitNotVisible(css(`#confirm`)))
	if imageID(bottle.RebuiltImage(w.a)) != rebased {
		t.Fatal("a cancelled rollback moved the tag")
	}
	w.do(ctx, "clicking Roll back and confirming", chromedp.Click(css(`#act-rollback`)), chromedp.WaitVisible(css(`#confirm[open]`)),
		chromedp.Click(css(`#confirm-ok`)))
	w.jobAfterClick(ctx, first)
	if imageID(bottle.RebuiltImage(w.a)) != beforeRebase || imageID(bottle.PreviousImage(w.a)) != rebased {
		t.Errorf("after the rollback: latest %s (want %s), previous %s (want %s)", imageID(bottle.RebuiltImage(w.a)), beforeRebase, imageID(bottle.PreviousImage(w.a)), rebased)
	}
	if log := w.plain(0, "capability", "log", w.a).Stdout; !strings.Contains(log, "rollback") || !strings.Contains(log, "rebase") {
		t.Errorf("the audit log lacks the dashboard's changes:\n%s", log)
	}
}

// jobAfterClick waits for the job a click started (one other than old)
// and returns its ID.
func (w *dashWorld) jobAfterClick(ctx context.Context, old string) string {
	w.t.Helper()
	w.waitJob(ctx, old)
	return w.jobID(ctx)
}

// stopByClicking: Stop (after confirming) stops the running bottle; its
// launch ends and saves the transcript, and the row says so.
func (w *dashWorld) stopByClicking(ctx context.Context) {
	t := w.t
	w.do(ctx, "opening bottle r's page", chromedp.Navigate(w.base+"bottles/"+w.r), chromedp.WaitVisible(css(`#act-stop:not([disabled])`)))
	w.do(ctx, "clicking Stop and confirming", chromedp.Click(css(`#act-stop`)), chromedp.WaitVisible(css(`#confirm[open]`)),
		chromedp.Click(css(`#confirm-ok`)))
	w.waitJob(ctx, "")
	select {
	case res := <-w.launched:
		w.launched <- res
		if res.ExitCode != 0 || !strings.Contains(res.Stderr, "transcript saved") {
			t.Errorf("launch after the stop: exit %d\n%s", res.ExitCode, res.Stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the launch did not end after the stop")
	}
	b, _ := w.requests.State().Bottle(w.r)
	if data, err := os.ReadFile(filepath.Join(b.TranscriptDir(), "bye")); err != nil || strings.TrimSpace(string(data)) != "bye" {
		t.Errorf("the transcript lacks what the agent wrote on SIGTERM: %q, %v", data, err)
	}
	// The row goes stopped when the container exits, and shows the
	// transcript once the launch has saved it, a moment later.
	w.do(ctx, "seeing r stopped, with its transcript", chromedp.Navigate(w.base),
		poll(`(document.querySelector(`+jsString(row(w.r)+" td.status")+`) || {}).textContent === "stopped"`, 20*time.Second),
		poll(`!["", "–"].includes((document.querySelector(`+jsString(row(w.r)+" td.transcript")+`) || {textContent: ""}).textContent)`, 20*time.Second))
}

func shortHex(id string) string { return overview.Image{ID: id}.ShortID() }

func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
