package dashboard

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// tree lists the state root's files and their content, to prove a
// refused action wrote nothing.
func tree(t *testing.T, root string) string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		data, _ := os.ReadFile(p)
		out = append(out, p+"\n"+string(data))
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n--\n")
}

// TestActionRefusals: actions refused for their input answer with the
// status of the library's error class and one line saying why, start no
// job and change nothing.
func TestActionRefusals(t *testing.T) {
	ts := newTestServer(t)
	reqs := ts.srv.requests
	open, err := reqs.Create(context.Background(), "demo", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "jq", Run: []string{"echo jq"}, Reason: "parse JSON"})
	if err != nil {
		t.Fatal(err)
	}
	decided, err := reqs.Create(context.Background(), "demo", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "curl", Run: []string{"echo curl"}, Reason: "fetch"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reqs.Deny(context.Background(), decided.ID, "no", "tester"); err != nil {
		t.Fatal(err)
	}
	before := tree(t, ts.srv.o.Store.Root())
	post := func(path, body string) call {
		return call{method: "POST", path: path, cookie: ts.cookie, csrf: ts.csrf, contentType: "application/json", body: body}
	}
	cases := []struct {
		name   string
		call   call
		status int
		says   string
	}{
		{"approve an unknown request", post("/api/requests/rq-0123456789/approve", ""), 404, "no bottle has request rq-0123456789"},
		{"approve a malformed ID", post("/api/requests/..%2Fetc/approve", ""), 400, "rq-"},
		{"approve a decided request", post("/api/requests/"+decided.ID+"/approve", ""), 409, "denied"},
		{"approve with edits that are empty", post("/api/requests/"+open.ID+"/approve", `{"instructions": "# nothing\n"}`), 400, "empty"},
		{"approve with packages that are not", post("/api/requests/"+open.ID+"/approve", `{"instructions": "packages: jq;reboot"}`), 400, "package"},
		{"approve with an unknown field", post("/api/requests/"+open.ID+"/approve", `{"run": ["x"]}`), 400, "unknown field"},
		{"approve with a body that is not JSON", post("/api/requests/"+open.ID+"/approve", `instructions=x`), 400, "bad request body"},
		{"deny without a reason", post("/api/requests/"+open.ID+"/deny", `{}`), 400, "needs a reason"},
		{"deny with a reason on two lines", post("/api/requests/"+open.ID+"/deny", `{"reason": "a\nb"}`), 400, "reason"},
		{"deny a decided request", post("/api/requests/"+decided.ID+"/deny", `{"reason": "again"}`), 409, "denied"},
		{"an action that does not exist", post("/api/bottles/demo/explode", ""), 404, "no action"},
		{"an action on a bad slug", post("/api/bottles/Demo/rebuild", ""), 400, "slug"},
		{"a body too big", post("/api/requests/"+open.ID+"/deny", `{"reason": "`+strings.Repeat("x", maxBody)+`"}`), 400, "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.do(tc.call)
			body := readBody(t, res)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.status, body)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, tc.says) || strings.Contains(e.Error, "\n") {
				t.Errorf("answer %q: want one line saying %q", body, tc.says)
			}
		})
	}
	if after := tree(t, ts.srv.o.Store.Root()); after != before {
		t.Errorf("refused actions changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if jobs := ts.srv.jobs.list(); len(jobs) != 0 {
		t.Errorf("refused actions started jobs: %+v", jobs)
	}
}
