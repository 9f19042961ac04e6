package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// requestStore opens the fixture's request store.
func (f *cliFixture) requestStore() *request.Store {
	f.t.Helper()
	st, err := state.Open(f.home)
	if err != nil {
		f.t.Fatal(err)
	}
	return request.NewStore(st)
}

func (f *cliFixture) ask(slug, name string, pkgs ...string) *request.Request {
	f.t.Helper()
	r, err := f.requestStore().Create(context.Background(), slug, bottleapi.CreateRequest{
		Kind: bottleapi.KindCapability, Name: name, Packages: pkgs, Reason: "needed for " + name,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// cliApplier stands in for the capability package in these CLI tests.
type cliApplier struct{ got *request.ApplyInput }

func (c cliApplier) Apply(_ context.Context, in request.ApplyInput) (request.ApplyResult, error) {
	*c.got = in
	return request.ApplyResult{ImageID: "sha256:feed"}, nil
}

func withApplier(t *testing.T) *request.ApplyInput {
	got := &request.ApplyInput{}
	old := requestApplier
	requestApplier = func(*app, *cobra.Command, string, *changeFlags) (request.Applier, func(), error) {
		return cliApplier{got}, func() {}, nil
	}
	t.Cleanup(func() { requestApplier = old })
	return got
}

func TestRequestListShowDeny(t *testing.T) {
	f := newCLIFixture(t)
	if r := f.ok("request", "list"); !strings.HasPrefix(r.out, "ID ") || strings.Count(r.out, "\n") != 1 {
		t.Errorf("empty list: %q", r.out)
	}
	if r := f.ok("request", "list", "--format", "json"); strings.TrimSpace(r.out) != "[]" {
		t.Errorf("empty json list: %q", r.out)
	}
	a := f.ask("alpha", "jq", "jq")
	b := f.ask("beta", "curl", "curl")
	all := f.ok("request", "list").out
	if !strings.Contains(all, a.ID) || !strings.Contains(all, b.ID) || !strings.Contains(all, "packages jq") {
		t.Errorf("list:\n%s", all)
	}
	if one := f.ok("request", "list", "beta").out; strings.Contains(one, a.ID) || !strings.Contains(one, b.ID) {
		t.Errorf("list beta:\n%s", one)
	}
	var rs []request.Request
	if err := json.Unmarshal([]byte(f.ok("request", "list", "--format", "json").out), &rs); err != nil || len(rs) != 2 {
		t.Errorf("json list: %v %v", rs, err)
	}
	show := f.ok("request", "show", a.ID).out
	for _, want := range []string{"request  " + a.ID, "bottle   alpha", "state    pending (its requester waits until", "approving adds to the image:", "# packages jq"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	wantOneLineError(t, f.run("", "request", "deny", a.ID), exitUsage, "--reason")
	if r := f.ok("request", "deny", a.ID, "--reason", "use python"); !strings.Contains(r.errOut, "denied") {
		t.Errorf("deny said %q", r.errOut)
	}
	got := f.ok("request", "show", a.ID, "--format", "json").out
	var r request.Request
	if err := json.Unmarshal([]byte(got), &r); err != nil || r.State != bottleapi.StateDenied || r.DenyReason != "use python" || r.DecidedBy == "" {
		t.Errorf("after deny: %s", got)
	}
	before := cliTree(t, f.home)
	wantOneLineError(t, f.run("", "request", "deny", a.ID, "--reason", "again"), exitUsage, "already decided", "denied")
	wantOneLineError(t, f.run("", "request", "approve", a.ID), exitUsage, "already decided")
	wantOneLineError(t, f.run("", "request", "show", "rq-0000000000"), exitUsage, "no bottle has request rq-0000000000")
	wantOneLineError(t, f.run("", "request", "deny", "../etc", "--reason", "x"), exitUsage, "not like rq-")
	wantOneLineError(t, f.run("", "request", "deny", b.ID, "--reason", "a\x1b[2Jb"), exitUsage, "control character")
	wantOneLineError(t, f.run("", "request", "list", "--format", "yaml"), exitUsage, "--format")
	if after := cliTree(t, f.home); after != before {
		t.Errorf("refused commands changed the state")
	}
}

func TestRequestApprove(t *testing.T) {
	f := newCLIFixture(t)
	a := f.ask("alpha", "jq", "jq")
	before := cliTree(t, f.home)
	// A driver that cannot be opened refuses the approval before it is
	// decided: the request stays pending, nothing changes.
	wantOneLineError(t, f.run("", "request", "approve", a.ID, "--repo", f.repo, "--driver", "nosuch"), exitUsage, "nosuch")
	if cliTree(t, f.home) != before {
		t.Error("an approval whose driver cannot be opened changed the state")
	}
	got := withApplier(t)
	wantOneLineError(t, f.run("", "request", "approve", a.ID, "--package", "jq;reboot"), exitUsage, "package")
	wantOneLineError(t, f.run("", "request", "approve", a.ID, "--edit", "--run", "x"), exitUsage, "not both")
	if cliTree(t, f.home) != before {
		t.Error("a refused approval changed the state")
	}
	r := f.ok("request", "approve", a.ID, "--package", "jq,gawk")
	if !strings.Contains(r.errOut, "approved") || !strings.Contains(r.errOut, "sha256:feed") {
		t.Errorf("approve said %q", r.errOut)
	}
	if got.Name != "jq" || strings.Join(got.Packages, ",") != "jq,gawk" || got.Slug != "alpha" {
		t.Errorf("applier got %+v", *got)
	}
	rec, _ := f.requestStore().Get("alpha", a.ID)
	if rec.State != bottleapi.StateApplied || rec.Edited == nil || !strings.Contains(rec.Edited.Summary, "gawk") {
		t.Errorf("record %+v", rec)
	}
}

func TestRequestApproveEdit(t *testing.T) {
	f := newCLIFixture(t)
	got := withApplier(t)
	editor := func(content string) {
		script := f.write("editor.sh", "#!/bin/sh\nprintf '"+content+"' > \"$1\"\n")
		os.Chmod(script, 0o755)
		t.Setenv("EDITOR", script)
	}
	a := f.ask("alpha", "jq", "jq")
	before := cliTree(t, f.home)
	editor("# nothing left\\n")
	if r := f.run("", "request", "approve", a.ID, "--edit"); r.code != exitFailure || !strings.Contains(r.errOut, "empty") {
		t.Errorf("empty edit: %d %q", r.code, r.errOut)
	}
	editor("apk add jq\\ncat <<EOF\\n")
	wantOneLineError(t, f.run("", "request", "approve", a.ID, "--edit"), exitUsage, "heredoc")
	if cliTree(t, f.home) != before {
		t.Error("a canceled or refused edit changed the state")
	}
	editor("# edited\\napk add --no-cache jq\\n")
	f.ok("request", "approve", a.ID, "--edit")
	if strings.Join(got.Run, "|") != "apk add --no-cache jq" || len(got.Packages) != 0 {
		t.Errorf("applier got %+v", *got)
	}
}

// inBottleHost serves one bottle's socket in this process, for the
// in-bottle commands, and points $CLAUDE_BOTTLE_SOCKET at it.
func inBottleHost(t *testing.T, home, slug string) *request.Store {
	t.Helper()
	st, _ := state.Open(home)
	store := request.NewStore(st)
	rd, err := request.PrepareRunDir(home, slug)
	if err != nil {
		t.Fatal(err)
	}
	l, err := rd.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := request.NewServer(request.ServerOptions{Store: store, Slug: slug})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	t.Setenv(bottleapi.SocketEnv, rd.Socket)
	return store
}

func TestRequestCapabilityInBottle(t *testing.T) {
	f := newCLIFixture(t)
	store := inBottleHost(t, f.home, "demo")
	go func() {
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if rs, _ := store.List("demo"); len(rs) == 1 {
				store.Deny(context.Background(), rs[0].ID, "use python's json module", "alice")
				return
			}
		}
	}()
	r := f.run("", "request", "capability", "jq", "--package", "jq", "--reason", "parse JSON")
	if r.code != inbottleDenied || !strings.Contains(r.out, "use python's json module") || !strings.Contains(r.errOut, "denied") {
		t.Errorf("denied: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.errOut)
	}
	r = f.run("", "request", "capability", "yq", "--run", "apk add yq", "--reason", "parse YAML", "--wait", "1s", "--format", "json")
	var out struct {
		Result  string            `json:"result"`
		Request bottleapi.Request `json:"request"`
	}
	if err := json.Unmarshal([]byte(r.out), &out); r.code != inbottleTimedOut || err != nil || out.Result != "timed_out" || out.Request.State != bottleapi.StateExpired {
		t.Errorf("timed out: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.errOut)
	}
	// request wait: the denial again, an ID this bottle does not have, one
	// still undecided.
	rs, _ := store.List("demo")
	if r := f.run("", "request", "wait", rs[0].ID, "--wait", "1s"); r.code != inbottleDenied || !strings.Contains(r.out, "use python's json module") {
		t.Errorf("wait on the denied request: exit %d %q %q", r.code, r.out, r.errOut)
	}
	wantOneLineError(t, f.run("", "request", "wait", "rq-0123456789", "--wait", "1s"), exitUsage, "no such request in this bottle")
	wantOneLineError(t, f.run("", "request", "wait", "nope", "--wait", "1s"), exitUsage, "not like rq-")
	pending, _ := store.Create(context.Background(), "demo", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "zq", Packages: []string{"zq"}, Reason: "r"})
	if r := f.run("", "request", "wait", pending.ID, "--wait", "1s"); r.code != inbottleTimedOut || !strings.Contains(r.out, "Waiting for the operator") {
		t.Errorf("wait on a pending request: exit %d %q %q", r.code, r.out, r.errOut)
	}
	before := cliTree(t, f.home)
	wantOneLineError(t, f.run("", "request", "capability", "jq", "--package", "jq;reboot", "--reason", "r"), exitUsage, "package")
	wantOneLineError(t, f.run("", "request", "capability", "jq", "--reason", "r"), exitUsage, "run commands or packages")
	wantOneLineError(t, f.run("", "request", "capability", "jq", "--package", "jq"), exitUsage, "reason is empty")
	wantOneLineError(t, f.run("", "request", "capability", "jq", "--package", "jq", "--reason", "r", "--wait", "ever"), exitUsage, "wait")
	if cliTree(t, f.home) != before {
		t.Error("refused requests were stored")
	}
	t.Setenv(bottleapi.SocketEnv, filepath.Join(t.TempDir(), "none.sock"))
	wantOneLineError(t, f.run("", "request", "capability", "jq", "--package", "jq", "--reason", "r"), exitFailure, "unreachable")
}

const (
	inbottleDenied   = 3
	inbottleTimedOut = 4
)

func TestHookAlwaysExitsZero(t *testing.T) {
	f := newCLIFixture(t)
	t.Setenv(bottleapi.SocketEnv, filepath.Join(t.TempDir(), "none.sock"))
	payload := `{"hook_event_name":"PostToolUseFailure","tool_name":"Bash","tool_input":{"command":"jq ."},"error":"Exit code 127\nbash: jq: command not found"}`
	for _, stdin := range []string{payload, "not json", ""} {
		r := f.run(stdin, "hook")
		if r.code != 0 || r.out != "" {
			t.Errorf("hook with %q: exit %d, stdout %q", stdin, r.code, r.out)
		}
	}
	store := inBottleHost(t, f.home, "demo")
	if r := f.run(payload, "hook"); r.code != 0 || !strings.Contains(r.out, "additionalContext") {
		t.Errorf("hook: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	if rs, _ := store.List("demo"); len(rs) != 1 || rs[0].State != bottleapi.StateSuggested {
		t.Errorf("suggestions %v", rs)
	}
}

func TestMCPRefusesABadWait(t *testing.T) {
	f := newCLIFixture(t)
	wantOneLineError(t, f.run("", "mcp", "--wait", "0s"), exitUsage, "wait")
}
