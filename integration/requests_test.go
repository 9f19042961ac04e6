package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/inbottle"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// The request channel of issue 14, with the in-bottle side running for
// real inside containers: the static claude-bottle binary mounted
// read-only at /opt/claude-bottle/bin/claude-bottle, the bottle's socket
// folder mounted read-only at /run/claude-bottle, no network, and a user
// other than the host's. The host side (store, decisions, socket server)
// runs in this test process through the library, as the supervisor will
// run it. Approval end to end waits for the capability package.

// bottleHost is one bottle's host side: its run folder and socket server.
type bottleHost struct {
	slug   string
	store  *request.Store
	rundir request.RunDir
}

func startBottleHost(t *testing.T, store *request.Store, slug string) *bottleHost {
	t.Helper()
	rd, err := request.PrepareRunDir(store.State().Root(), slug)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rd.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := request.NewServer(request.ServerOptions{Store: store, Slug: slug})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving %s: %v", slug, err)
		}
	})
	return &bottleHost{slug: slug, store: store, rundir: rd}
}

// requestsImage builds FROM scratch + static busybox, once per test.
func requestsImage(t *testing.T) string {
	t.Helper()
	tag := fmt.Sprintf("cb-requests-test-%d:latest", time.Now().UnixNano())
	dir := testenv.BusyboxContext(t, map[string]string{"Dockerfile": testenv.BusyboxDockerfile})
	cmd := exec.Command(testenv.DockerCLI(), "build", "-q", "-t", tag, dir)
	cmd.Env = append(cmd.Environ(), "DOCKER_BUILDKIT=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	testenv.RemoveImages(t, tag)
	return tag
}

// inBottle returns the docker run arguments that start cmd in a bottle of
// h: claude-bottle and the socket folder mounted read-only, no network,
// uid 1000 (not the host user, as the agent usually is).
func inBottle(t *testing.T, h *bottleHost, bin, image string, stdin bool, cmd ...string) []string {
	t.Helper()
	name := fmt.Sprintf("cb-requests-%s-%d", h.slug, time.Now().UnixNano())
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", name) })
	args := []string{"run", "--rm", "--name", name, "--network", "none", "--user", "1000:1000",
		"-v", bin + ":" + bottleapi.BinaryPath + ":ro",
		"-v", h.rundir.Dir + ":" + bottleapi.SocketDir + ":ro"}
	if stdin {
		args = append(args, "-i")
	}
	return append(append(args, image), cmd...)
}

// runInBottle runs cmd in a bottle of h and returns its output and exit
// code.
func runInBottle(t *testing.T, h *bottleHost, bin, image string, cmd ...string) testenv.Result {
	t.Helper()
	return testenv.Run(t, 2*time.Minute, nil, testenv.DockerCLI(), inBottle(t, h, bin, image, false, cmd...)...)
}

// denyWhenAsked denies the first request of h that becomes pending, with
// reason, through the library (as `claude-bottle request deny` does), and
// reports its ID.
func denyWhenAsked(t *testing.T, h *bottleHost, reason string) <-chan string {
	ids := make(chan string, 1)
	go func() {
		defer close(ids)
		for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			rs, _ := h.store.List(h.slug)
			for _, r := range rs {
				if r.State == bottleapi.StatePending {
					if _, err := h.store.Deny(context.Background(), r.ID, reason, "operator"); err != nil {
						t.Errorf("deny: %v", err)
					}
					ids <- r.ID
					return
				}
			}
		}
	}()
	return ids
}

// mcpInBottle starts `claude-bottle mcp --wait WAIT` in a bottle of h and
// connects the official SDK's client to it over the container's stdio.
func mcpInBottle(t *testing.T, h *bottleHost, bin, image string, wait time.Duration) *mcp.ClientSession {
	t.Helper()
	args := inBottle(t, h, bin, image, true, bottleapi.BinaryPath, "mcp", "--wait", wait.String())
	transport := &mcp.CommandTransport{Command: exec.Command(testenv.DockerCLI(), args...)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "integration", Version: "1"}, nil).Connect(ctx, transport, nil)
	if err != nil {
		t.Fatalf("connecting to claude-bottle mcp in a bottle: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callInBottle(t *testing.T, cs *mcp.ClientSession, name string, args any) (*mcp.CallToolResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text = append(text, tc.Text)
		}
	}
	return res, strings.Join(text, "\n")
}

func TestRequestChannelInABottle(t *testing.T) {
	testenv.RequireDocker(t)
	bin := testenv.StaticClaudeBottle(t)
	image := requestsImage(t)
	st, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	store := request.NewStore(st)
	alpha := startBottleHost(t, store, "alpha")
	beta := startBottleHost(t, store, "beta")

	t.Run("the socket folder is read-only and reachable by uid 1000", func(t *testing.T) {
		res := runInBottle(t, alpha, bin, image, "sh", "-c", "id -u; test -S /run/claude-bottle/bottle.sock && echo socket; ls /run/claude-bottle >/dev/null 2>&1 && echo listable; touch /run/claude-bottle/x 2>/dev/null && echo writable || echo read-only")
		// 0711: the agent's uid may reach the socket but not list the folder.
		if res.ExitCode != 0 || res.Stdout != "1000\nsocket\nread-only\n" {
			t.Fatalf("exit %d\nstdout %q\nstderr %s", res.ExitCode, res.Stdout, res.Stderr)
		}
	})

	var deniedID string
	t.Run("mcp through the SDK client: tools, status, a denial", func(t *testing.T) {
		cs := mcpInBottle(t, alpha, bin, image, time.Minute)
		tools, err := cs.ListTools(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range tools.Tools {
			names = append(names, tool.Name)
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{inbottle.ToolBottleStatus, inbottle.ToolRequestCapability, inbottle.ToolRequestEgress}) {
			t.Fatalf("tools %v", names)
		}
		res, text := callInBottle(t, cs, inbottle.ToolBottleStatus, map[string]any{})
		if res.IsError || !strings.Contains(text, "Bottle alpha") {
			t.Fatalf("bottle_status: %s", text)
		}
		ids := denyWhenAsked(t, alpha, "use python's json module instead")
		res, text = callInBottle(t, cs, inbottle.ToolRequestCapability, map[string]any{
			"name": "jq", "packages": []string{"jq"}, "reason": "parse the API's JSON answers",
		})
		deniedID = <-ids
		var got inbottle.CapabilityResult
		data, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(data, &got)
		if res.IsError || got.Result != inbottle.ResultDenied || got.ID != deniedID || got.DenyReason != "use python's json module instead" ||
			!strings.Contains(text, "The operator said: use python's json module instead") || !strings.Contains(text, "Do not ask again") {
			t.Fatalf("denied call: %+v\n%s", got, text)
		}
		r, err := store.Get("alpha", deniedID)
		if err != nil || r.Reason != "parse the API's JSON answers" || r.State != bottleapi.StateDenied {
			t.Fatalf("stored %+v, %v", r, err)
		}
	})

	t.Run("mcp with a short wait times out", func(t *testing.T) {
		cs := mcpInBottle(t, alpha, bin, image, 2*time.Second)
		start := time.Now()
		res, text := callInBottle(t, cs, inbottle.ToolRequestCapability, map[string]any{
			"name": "yq", "run": []string{"wget -O /usr/local/bin/yq https://example.invalid/yq"}, "reason": "parse YAML",
		})
		var got inbottle.CapabilityResult
		data, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(data, &got)
		if res.IsError || got.Result != inbottle.ResultTimedOut || !strings.Contains(text, "Timed out") {
			t.Fatalf("after %v: %+v\n%s", time.Since(start), got, text)
		}
		if r, err := store.Get("alpha", got.ID); err != nil || r.State != bottleapi.StateExpired {
			t.Fatalf("stored %+v, %v", r, err)
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("a 2 s wait took %v", time.Since(start))
		}
	})

	t.Run("request capability exit codes", func(t *testing.T) {
		ids := denyWhenAsked(t, alpha, "not in this project")
		res := runInBottle(t, alpha, bin, image, bottleapi.BinaryPath, "request", "capability", "curl", "--package", "curl", "--reason", "download fixtures")
		id := <-ids
		if res.ExitCode != inbottle.ExitDenied || !strings.Contains(res.Stdout, "not in this project") || !strings.Contains(res.Stderr, id) {
			t.Errorf("denied: exit %d\nstdout %s\nstderr %s", res.ExitCode, res.Stdout, res.Stderr)
		}
		res = runInBottle(t, alpha, bin, image, bottleapi.BinaryPath, "request", "capability", "zq", "--run", "apk add zq", "--reason", "r", "--wait", "2s")
		if res.ExitCode != inbottle.ExitTimedOut || !strings.Contains(res.Stdout, "Timed out") {
			t.Errorf("timed out: exit %d\nstdout %s\nstderr %s", res.ExitCode, res.Stdout, res.Stderr)
		}
		before, _ := store.List("alpha")
		res = runInBottle(t, alpha, bin, image, bottleapi.BinaryPath, "request", "capability", "jq", "--package", "jq;reboot", "--reason", "r")
		if res.ExitCode != inbottle.ExitBadInput || !strings.Contains(res.Stderr, "package") {
			t.Errorf("bad input: exit %d\nstderr %s", res.ExitCode, res.Stderr)
		}
		if after, _ := store.List("alpha"); len(after) != len(before) {
			t.Error("bad input was stored")
		}
	})

	t.Run("a second bottle cannot see the first's request", func(t *testing.T) {
		if deniedID == "" {
			t.Skip("the mcp subtest made no request")
		}
		res := runInBottle(t, beta, bin, image, bottleapi.BinaryPath, "request", "wait", deniedID, "--wait", "1s")
		if res.ExitCode != inbottle.ExitBadInput || !strings.Contains(res.Stderr, "no such request in this bottle") || res.Stdout != "" {
			t.Errorf("beta reading alpha's request: exit %d\nstdout %s\nstderr %s", res.ExitCode, res.Stdout, res.Stderr)
		}
		// The same ID through its own bottle's socket still answers.
		res = runInBottle(t, alpha, bin, image, bottleapi.BinaryPath, "request", "wait", deniedID, "--wait", "1s")
		if res.ExitCode != inbottle.ExitDenied {
			t.Errorf("alpha reading its own request: exit %d\nstderr %s", res.ExitCode, res.Stderr)
		}
		if rs, _ := store.List("beta"); len(rs) != 0 {
			t.Errorf("beta has requests %v", rs)
		}
	})
}
