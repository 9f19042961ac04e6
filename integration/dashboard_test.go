//go:build linux

package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/overview"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// The dashboard of issue 17 on the real engine: a state prepared with the
// real CLI on the offline example (FROM scratch + static busybox), the
// real `claude-bottle dashboard` serving it, and requests made as a
// bottle makes them (through the request store).

// dashWorld is the prepared state and the running dashboard.
type dashWorld struct {
	t    *testing.T
	c    *cli
	home string
	repo string
	// a is repo-based with a capability (its own rebuilt image); b has
	// its own Dockerfile; r runs (launched with --cwd).
	a, b, r string
	cwd     string
	// launched is r's `claude-bottle launch`, running until r stops.
	launched chan testenv.Result
	requests *request.Store
	// url is the dashboard's address with its token; base without.
	url, base string
	http      *http.Client
}

func newDashWorld(t *testing.T) *dashWorld {
	testenv.RequireDocker(t)
	c := newCLI(t)
	c.env = append(c.env, "USER=cb-operator", "CLAUDE_BOTTLE_REPO=", "CLAUDE_BOTTLE_DRIVER=", "CLAUDE_BOTTLE_IN_PROCESS=", "BUILDKIT_HOST=", "DOCKER_HOST=")
	c.args = []string{"--driver", "buildkit"}
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(root, "examples", "offline", "repo", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	id := randHex(3)
	w := &dashWorld{t: t, c: c, home: strings.TrimPrefix(c.env[0], "CLAUDE_BOTTLE_HOME="),
		repo: testenv.BusyboxContext(t, map[string]string{"Dockerfile": string(example)}),
		a:    "dash-a-" + id, b: "dash-b-" + id, r: "dash-r-" + id, cwd: t.TempDir()}
	for _, s := range []string{w.a, w.b} {
		testenv.RemoveImages(t, bottle.RebuiltImage(s), bottle.PreviousImage(s))
	}
	st, err := state.Open(w.home)
	if err != nil {
		t.Fatal(err)
	}
	w.requests = request.NewStore(st)

	start := time.Now()
	w.run(0, "capability", "add", w.a, "jq", "--run", "echo jq > /etc/jq", "--reason", "parse JSON", "--repo", w.repo, "--progress", "plain")
	own := filepath.Join(t.TempDir(), "Dockerfile")
	os.WriteFile(own, []byte(testenv.BusyboxDockerfile+"RUN echo b-v1 > /etc/version\n"), 0o644)
	w.plain(0, "state", "set-dockerfile", w.b, own)
	w.run(0, "build", w.b, "--repo", w.repo, "--progress", "plain")
	w.launch()
	t.Logf("state prepared with the CLI in %.1fs", time.Since(start).Seconds())
	w.startDashboard()
	return w
}

// run runs the CLI with the driver flags; plain without them, for
// commands that build nothing.
func (w *dashWorld) run(want int, args ...string) testenv.Result {
	w.t.Helper()
	w.c.t = w.t
	return w.c.run(want, w.c.with(args...)...)
}

func (w *dashWorld) plain(want int, args ...string) testenv.Result {
	w.t.Helper()
	w.c.t = w.t
	return w.c.run(want, args...)
}

// launch starts r with `claude-bottle launch --cwd`, its agent a loop
// that exits on SIGTERM, and waits until its container runs.
func (w *dashWorld) launch() {
	t := w.t
	w.launched = make(chan testenv.Result, 1)
	t.Cleanup(func() {
		testenv.DockerOut("rm", "-f", bottle.ContainerName(w.r))
		select {
		case <-w.launched:
		case <-time.After(30 * time.Second):
			t.Error("the launch of the running bottle did not end")
		}
		if out, err := testenv.DockerOut("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "claude-bottle-cwd-"+w.r); err == nil {
			for _, img := range strings.Fields(out) {
				testenv.DockerOut("image", "rm", img)
			}
		}
	})
	go func() {
		w.launched <- testenv.Run(t, 5*time.Minute, w.c.env, w.c.bin, w.c.with("launch", w.r, "--repo", w.repo, "--cwd", w.cwd, "--progress", "plain", "--",
			"sh", "-c", `trap "echo bye > /home/node/.claude/bye; exit 0" TERM; mkdir -p /home/node/.claude; echo hi > /home/node/.claude/session.jsonl; while :; do sleep 1; done`)...)
	}()
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if out, _ := testenv.DockerOut("inspect", "--format", "{{.State.Running}}", bottle.ContainerName(w.r)); out == "true" {
			return
		}
		select {
		case res := <-w.launched:
			w.launched <- res
			t.Fatalf("launch ended before its bottle ran: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
		default:
		}
		if time.Now().After(end) {
			t.Fatal("the launched bottle did not run within 2 minutes")
		}
	}
}

// startDashboard runs `claude-bottle dashboard` on a free loopback port
// until the test ends, and logs the client in with the printed address.
func (w *dashWorld) startDashboard() {
	t := w.t
	cmd := exec.Command(w.c.bin, w.c.with("dashboard", "--listen", "127.0.0.1:0", "--repo", w.repo)...)
	cmd.Env = append(os.Environ(), w.c.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the dashboard exited with %v after SIGINT\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("the dashboard did not stop within 15 s of SIGINT")
		}
		if _, err := os.Stat(filepath.Join(w.home, "dashboard.url")); !os.IsNotExist(err) {
			t.Errorf("dashboard.url left behind: %v", err)
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		url, ok := strings.CutPrefix(line, "dashboard: ")
		if !ok || !strings.Contains(url, "?token=") {
			t.Fatalf("the dashboard printed %q", line)
		}
		w.url, w.base = url, url[:strings.Index(url, "?")]
	case <-time.After(60 * time.Second):
		t.Fatalf("the dashboard printed no address within 60 s\n%s", stderr.String())
	}
	kept, err := os.ReadFile(filepath.Join(w.home, "dashboard.url"))
	if fi, serr := os.Stat(filepath.Join(w.home, "dashboard.url")); err != nil || serr != nil || strings.TrimSpace(string(kept)) != w.url || fi.Mode().Perm() != 0o600 {
		t.Errorf("dashboard.url holds %q (%v), want the printed address, mode 0600", kept, err)
	}
	jar, _ := cookiejar.New(nil)
	w.http = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	res, err := w.http.Get(w.url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Request.URL.RawQuery != "" {
		t.Fatalf("logging in: status %d at %s", res.StatusCode, res.Request.URL)
	}
}

// get reads an API path into v.
func (w *dashWorld) get(path string, v any) {
	w.t.Helper()
	res, err := w.http.Get(w.base + strings.TrimPrefix(path, "/"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		w.t.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, v); err != nil {
		w.t.Fatalf("GET %s: %v\n%s", path, err, data)
	}
}

// ask makes a request as bottle slug's agent would (through the store the
// bottle socket writes to).
func (w *dashWorld) ask(slug string, c bottleapi.CreateRequest) *request.Request {
	w.t.Helper()
	c.Kind, c.WaitSeconds = bottleapi.KindCapability, 600
	r, err := w.requests.Create(context.Background(), slug, c)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// ours keeps the rows of this test's bottles: the engine is shared, and
// other tests' bottles show in every home.
func (w *dashWorld) ours(rows []overview.Row) map[string]overview.Row {
	out := map[string]overview.Row{}
	for _, r := range rows {
		if r.Slug == w.a || r.Slug == w.b || r.Slug == w.r {
			out[r.Slug] = r
		}
	}
	return out
}

func TestDashboard(t *testing.T) {
	start := time.Now()
	w := newDashWorld(t)
	w.ask(w.a, bottleapi.CreateRequest{Name: "tree", Run: []string{"echo tree > /etc/tree"}, Reason: "show folders as a tree"})
	t.Run("ps, api and state agree", w.agree)
	t.Run("browser", w.browser)
	t.Logf("TestDashboard took %.1fs", time.Since(start).Seconds())
}

// agree: `ps --format json` and /api/bottles give the same rows, and they
// say what `state list`, the engine and the request store say.
func (w *dashWorld) agree(t *testing.T) {
	w.t = t
	var api []overview.Row
	w.get("/api/bottles", &api)
	var ps []overview.Row
	if err := json.Unmarshal([]byte(w.run(0, "ps", "--format", "json", "--repo", w.repo).Stdout), &ps); err != nil {
		t.Fatal(err)
	}
	fromAPI, fromPs := w.ours(api), w.ours(ps)
	if len(fromAPI) != 3 {
		t.Fatalf("/api/bottles has %d of the 3 bottles: %+v", len(fromAPI), fromAPI)
	}
	for slug, a := range fromAPI {
		aj, _ := json.Marshal(a)
		pj, _ := json.Marshal(fromPs[slug])
		if string(aj) != string(pj) {
			t.Errorf("bottle %s:\n/api: %s\nps:   %s", slug, aj, pj)
		}
	}
	var list []struct {
		Slug         string
		Image        string
		Rebuilt      bool
		Capabilities []struct{ Name string }
		Transcript   *state.SnapshotInfo
	}
	if err := json.Unmarshal([]byte(w.plain(0, "state", "list", "--format", "json").Stdout), &list); err != nil {
		t.Fatal(err)
	}
	// r has no snapshot yet (its first is taken when it stops); its state
	// folder holds the run lock of the launch that supervises it.
	if len(list) != 3 || list[0].Slug != w.a || list[1].Slug != w.b || list[2].Slug != w.r || list[2].Transcript != nil {
		t.Errorf("state list has %+v, want bottles a, b and r (r without a transcript)", list)
	}
	for _, s := range list {
		row, ok := fromAPI[s.Slug]
		if !ok {
			t.Errorf("state has bottle %s, /api has not", s.Slug)
			continue
		}
		kind := overview.KindBase
		if s.Rebuilt {
			kind = overview.KindRebuilt
		}
		if row.Image.Tag != s.Image || row.Image.Kind != kind || row.Capabilities != len(s.Capabilities) || (row.Transcript == nil) != (s.Transcript == nil) {
			t.Errorf("bottle %s: /api %+v; state %+v", s.Slug, row, s)
		}
		if id := imageID(s.Image); row.Image.ID != id {
			t.Errorf("bottle %s: /api says image %s, the engine %s", s.Slug, row.Image.ID, id)
		}
	}
	a, b, r := fromAPI[w.a], fromAPI[w.b], fromAPI[w.r]
	if a.Status != overview.Waiting || a.Pending != 1 || a.Capabilities != 1 || a.Image.Kind != overview.KindRebuilt {
		t.Errorf("bottle a: %+v", a)
	}
	if b.Status != overview.Stopped || b.Image.Kind != overview.KindRebuilt || b.Capabilities != 0 {
		t.Errorf("bottle b: %+v", b)
	}
	if r.Status != overview.Running || r.Cwd != w.cwd || r.CwdFrom != overview.CwdContainer || r.Container == nil || r.Container.StartedAt == nil || r.Image.Tag != bottle.BaseImage {
		t.Errorf("bottle r: %+v", r)
	}
	var open []*request.Request
	w.get("/api/requests", &open)
	if n := countFor(open, w.a); n != 1 {
		t.Errorf("/api/requests has %d open requests of bottle a, want 1", n)
	}
}

func countFor(rs []*request.Request, slug string) int {
	n := 0
	for _, r := range rs {
		if r.Slug == slug {
			n++
		}
	}
	return n
}

// mustImageID is the engine's ID of image, failing the test without one.
func mustImageID(t *testing.T, image string) string {
	t.Helper()
	id := imageID(image)
	if id == "" {
		t.Fatalf("no image %s", image)
	}
	return id
}
