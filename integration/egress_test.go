//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// The network side of containment (issue 15): a bottle reaches nothing
// but its allowlist, through the host, and no credential enters it. The
// test runs the real CLI on the real engine with a key in its environment
// and test servers on the host's loopback, and looks from inside the
// bottle (raw proxy requests with nc, and direct connections) and from
// outside (docker inspect, the image, /proc of every bottle process, the
// logs, the state folder with the transcript snapshot).

// egressScript is the agent: it asks the proxy for each target with a raw
// HTTP/1.0 request and prints the answer on one line, tries the metadata
// address and the bridge directly, keeps its environment in its state
// folder (so the transcript snapshot holds it), then waits for a target
// approved while it runs.
const egressScript = `req() { printf '%%s HTTP/1.0\r\nHost: x\r\nx-api-key: bottle-fake\r\nAuthorization: Bearer bottle-fake\r\n\r\n' "$1" | timeout 20 nc 127.0.0.1 3128 | head -c 1500 | tr '\r\n' '  '; echo; }
echo "listed=$(req 'GET http://127.0.0.1:%[1]s/hello')"
echo "unlisted=$(req 'GET http://127.0.0.1:%[2]s/secret')"
echo "metadata=$(req 'GET http://169.254.169.254/latest/meta-data/')"
echo "metaconnect=$(req 'CONNECT 169.254.169.254:80')"
echo "bridge=$(req 'GET http://%[3]s:%[2]s/')"
echo "api=$(req "GET $ANTHROPIC_BASE_URL/v1/models")"
timeout 10 nc -w 3 169.254.169.254 80 </dev/null >/dev/null 2>&1; echo "directmeta=$?"
timeout 10 nc -w 3 %[3]s %[2]s </dev/null >/dev/null 2>&1; echo "directbridge=$?"
echo "creds=base:$ANTHROPIC_BASE_URL token:$ANTHROPIC_AUTH_TOKEN key:${ANTHROPIC_API_KEY:-unset}"
mkdir -p "$HOME/.claude" && env > "$HOME/.claude/env.txt" && cat /proc/self/environ > "$HOME/.claude/environ.bin"
echo egress-ready
/opt/claude-bottle/bin/claude-bottle request egress 127.0.0.1:%[4]s --reason 'the test server' --wait 90s; echo "asked=$?"
echo "late=$(req 'GET http://127.0.0.1:%[4]s/late')"
n=0; until req 'GET http://127.0.0.1:%[5]s/later' | grep -q hello-later; do n=$((n+1)); [ $n -gt 200 ] && break; sleep 0.3; done
echo "later=$(req 'GET http://127.0.0.1:%[5]s/later')"
trap 'exit 0' TERM INT
echo egress-done
while :; do sleep 0.2; done`

// hostServer is a test server on the host's loopback that counts its
// requests and keeps the credential headers it saw.
type hostServer struct {
	*httptest.Server
	mu      sync.Mutex
	hits    int
	headers []http.Header
}

func newHostServer(t *testing.T, body string) *hostServer {
	h := &hostServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.hits++
		h.headers = append(h.headers, r.Header.Clone())
		h.mu.Unlock()
		io.WriteString(w, body)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostServer) port() string { return h.URL[strings.LastIndex(h.URL, ":")+1:] }

func (h *hostServer) seen() (int, []http.Header) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits, append([]http.Header(nil), h.headers...)
}

func TestEgressAllowlistAndNoCredentialInBottle(t *testing.T) {
	testenv.RequireDocker(t)
	key := "sk-ant-test-" + randHex(12)
	listed, unlisted := newHostServer(t, "hello-listed"), newHostServer(t, "hello-unlisted")
	late, later := newHostServer(t, "hello-late"), newHostServer(t, "hello-later")
	api := newHostServer(t, "api-ok")
	gateway := bridgeGateway(t)

	c := newFCLI(t)
	c.env = append(c.env, "ANTHROPIC_API_KEY="+key, "ANTHROPIC_AUTH_TOKEN=")
	slug := containSlug(t, "egress")
	c.setOverride(slug, containDockerfile)
	config := fmt.Sprintf("[egress]\nallow = [\"127.0.0.1:%s\"]\nanthropic_url = %q\n", listed.port(), api.URL+"/upstream")
	if err := os.WriteFile(filepath.Join(c.home, "config.toml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(egressScript, listed.port(), unlisted.port(), gateway, late.port(), later.port())
	repo := faultRepo(t, nil)
	p := c.start("launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet",
		"--log-level", "debug", "--keep", "--", "sh", "-c", script)
	p.waitOut(3*time.Minute, "egress-ready")
	name := "claude-bottle-" + slug

	// The refusals became suggestions; the agent's request is approved
	// while the bottle runs, then an operator adds another host: each is
	// live at once, nothing is rebuilt.
	imageBefore := imageID(strings.TrimSpace(testenv.Docker(t, "inspect", "--format", "{{.Config.Image}}", name)))
	asked := waitRequest(t, c, slug, "pending")
	c.must(0, "request", "approve", asked.ID, "--repo", repo, "--driver", "buildkit")
	p.waitOut(60*time.Second, "late=")
	c.must(0, "capability", "add", slug, "later", "--host", "127.0.0.1:"+later.port(), "--reason", "test", "--no-build", "--repo", repo)
	p.waitOut(90*time.Second, "egress-done")
	if after := imageID(strings.TrimSpace(testenv.Docker(t, "inspect", "--format", "{{.Config.Image}}", name))); after != imageBefore {
		t.Errorf("approving egress changed the bottle's image from %s to %s", imageBefore, after)
	}
	var suggested []string
	for _, r := range listRequests(t, c, slug) {
		if r.State == "suggested" && r.Kind == "egress" && r.Origin == "proxy" {
			suggested = append(suggested, strings.Join(r.Hosts, ","))
		}
	}
	slices.Sort(suggested)
	// The later server was asked for before the operator added it.
	want := []string{gateway + ":" + unlisted.port(), "127.0.0.1:" + unlisted.port(), "127.0.0.1:" + later.port()}
	slices.Sort(want)
	if !slices.Equal(suggested, want) {
		t.Errorf("suggested egress requests %v, want %v (metadata is never suggested)", suggested, want)
	}
	environs := bottleEnvirons(t, name)

	p.signal(syscall.SIGTERM)
	if code, _ := p.wait(2 * signalBound); code != 0 {
		t.Errorf("after SIGTERM: exit %d, want 0\nstderr:\n%s", code, p.stderr())
	}
	out := p.stdoutText()
	for k, want := range map[string][]string{
		"listed":      {" 200 OK", "hello-listed"},
		"unlisted":    {" 403 Forbidden", "egress refused", "request_egress", "claude-bottle request egress 127.0.0.1:" + unlisted.port()},
		"metadata":    {" 403 Forbidden", "egress refused"},
		"metaconnect": {" 403 Forbidden", "link-local"},
		"bridge":      {" 403 Forbidden", "egress refused"},
		"api":         {" 200 OK", "api-ok"},
		"asked":       {"0"},
		"late":        {" 200 OK", "hello-late"},
		"later":       {" 200 OK", "hello-later"},
		"creds":       {"base:http://127.0.0.1:3128/anthropic token:claude-bottle-placeholder key:unset"},
	} {
		got := outValue(out, k)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("in the bottle, %s = %q; want it to hold %q", k, got, w)
			}
		}
	}
	for _, k := range []string{"directmeta", "directbridge"} {
		if got := outValue(out, k); got == "0" || got == "<missing>" {
			t.Errorf("in the bottle, %s = %s: a direct connection got through (or was not tried)", k, got)
		}
	}
	if hits, _ := unlisted.seen(); hits != 0 {
		t.Errorf("the unlisted server was reached %d times", hits)
	}
	if hits, hs := api.seen(); hits != 1 || hs[0].Get("X-Api-Key") != key || hs[0].Get("Authorization") != "" {
		t.Errorf("the API server saw %d requests, headers %v; want one with the host's key and no bottle credential", hits, hs)
	}

	// The key appears nowhere the bottle or anyone reading its traces can
	// see; each place is checked to hold what it should, so the check could
	// fail.
	inspect := testenv.Docker(t, "inspect", name)
	places := map[string]string{"docker inspect": inspect, "stdout": out, "stderr (debug log)": p.stderr()}
	if !strings.Contains(inspect, "ANTHROPIC_AUTH_TOKEN=claude-bottle-placeholder") {
		t.Errorf("docker inspect does not show the placeholder: the check cannot see the environment")
	}
	imageID := strings.TrimSpace(testenv.Docker(t, "inspect", "--format", "{{.Image}}", name))
	places["image config"] = testenv.Docker(t, "image", "inspect", imageID)
	places["image history"] = testenv.Docker(t, "history", "--no-trunc", imageID)
	places["image layers"] = dockerSave(t, imageID)
	for pid, env := range environs {
		places["/proc/"+pid+"/environ"] = env
	}
	var snapEnv bool
	filepath.WalkDir(c.home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data := readFile(t, path)
		places["state "+strings.TrimPrefix(path, c.home)] = data
		if strings.HasSuffix(path, "env.txt") && strings.Contains(data, "claude-bottle-placeholder") {
			snapEnv = true
		}
		return nil
	})
	if !snapEnv {
		t.Errorf("the transcript snapshot holds no env.txt with the placeholder: the check cannot see it")
	}
	for where, text := range places {
		if strings.Contains(text, key) {
			t.Errorf("the host's key appears in %s", where)
		}
	}
	t.Logf("key absent from %d places (%d bottle processes)", len(places), len(environs))
}

// listedRequest is what the test reads of `request list --format json`.
type listedRequest struct {
	ID, Kind, State, Origin string
	Hosts                   []string
}

func listRequests(t *testing.T, c *fcli, slug string) []listedRequest {
	t.Helper()
	var rs []listedRequest
	out := c.must(0, "request", "list", slug, "--format", "json").Stdout
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("request list: %v\n%s", err, out)
	}
	return rs
}

// waitRequest waits up to a minute for the bottle's first request in
// state and returns it.
func waitRequest(t *testing.T, c *fcli, slug, state string) listedRequest {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for _, r := range listRequests(t, c, slug) {
			if r.State == state {
				return r
			}
		}
	}
	t.Fatalf("bottle %s made no %s request within a minute", slug, state)
	return listedRequest{}
}

// bridgeGateway is the engine's default bridge's gateway: the one the
// engine names, else the first address of its subnet (older engines name
// none).
func bridgeGateway(t *testing.T) string {
	t.Helper()
	out := testenv.Docker(t, "network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}")
	f := strings.Fields(out)
	if len(f) == 2 {
		return f[1]
	}
	if len(f) == 1 {
		if p, err := netip.ParsePrefix(f[0]); err == nil {
			return p.Masked().Addr().Next().String()
		}
	}
	t.Fatalf("the engine's bridge has no gateway to try: %q", out)
	return ""
}

// bottleEnvirons reads, from the host, the environment of every process
// in the running bottle, and fails unless there are at least PID 1 and
// the agent.
func bottleEnvirons(t *testing.T, name string) map[string]string {
	t.Helper()
	out := testenv.Docker(t, "top", name, "-eo", "pid")
	envs := map[string]string{}
	for _, l := range strings.Split(out, "\n")[1:] {
		pid := strings.TrimSpace(l)
		if pid == "" {
			continue
		}
		data, err := os.ReadFile("/proc/" + pid + "/environ")
		if err != nil {
			continue // it ended since
		}
		envs[pid] = strings.ReplaceAll(string(data), "\x00", "\n")
	}
	if len(envs) < 2 {
		t.Fatalf("read the environment of %d bottle processes, want PID 1 and the agent at least (docker top: %q)", len(envs), out)
	}
	return envs
}

// dockerSave returns the image's exported layers and config as text.
func dockerSave(t *testing.T, image string) string {
	t.Helper()
	out, err := exec.Command(testenv.DockerCLI(), "save", image).Output()
	if err != nil {
		t.Fatalf("docker save %s: %v", image, err)
	}
	return string(out)
}
