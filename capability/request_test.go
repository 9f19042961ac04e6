package capability

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/request"
)

// An approved request goes through RequestApplier into the bottle as a
// capability from that request: built, swapped in, audited with its ID.
func TestRequestApplierAddsTheApprovedRequest(t *testing.T) {
	cases := []struct {
		name     string
		create   bottleapi.CreateRequest
		edit     []string
		wantKind Kind
		wantIn   string
	}{
		{"run", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "jq", Run: []string{"echo jq > /etc/jq"}, Reason: "parse JSON"}, nil, KindLayer, "RUN echo jq > /etc/jq"},
		{"edited", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "tool", Run: []string{"echo asked"}, Reason: "a tool"}, []string{"echo edited"}, KindLayer, "RUN echo edited"},
		{"egress", bottleapi.CreateRequest{Kind: bottleapi.KindEgress, Name: "pypi", Hosts: []string{"pypi.org:443", "files.pythonhosted.org"}, Reason: "install packages"}, nil, KindEgress, "pypi.org:443 files.pythonhosted.org"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			reqs := request.NewStore(w.store)
			r, err := reqs.Create(context.Background(), "demo", tc.create)
			if err != nil {
				t.Fatal(err)
			}
			var events int
			a := RequestApplier{
				Options: w.opts("demo"),
				Plan: func(slug string) (*bottle.Plan, error) {
					return &bottle.Plan{Slug: slug, Repo: w.repo, Context: w.repo}, nil
				},
				Sink: func(slug string) driver.Sink {
					if slug != "demo" {
						t.Errorf("Sink asked for bottle %q", slug)
					}
					return driver.SinkFunc(func(*driver.Event) { events++ })
				},
			}
			got, err := reqs.Approve(context.Background(), request.ApproveOptions{ID: r.ID, By: "operator", Run: tc.edit, Applier: a})
			if err != nil {
				t.Fatalf("Approve: %v", err)
			}
			if got.State != bottleapi.StateApplied {
				t.Fatalf("request is %s, want applied", got.State)
			}
			st, err := Inspect(w.store, "demo", w.repo)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Capabilities) != 1 {
				t.Fatalf("capabilities = %+v", st.Capabilities)
			}
			c := st.Capabilities[0]
			if c.Name != tc.create.Name || c.Kind != tc.wantKind || !strings.Contains(c.Instructions, tc.wantIn) ||
				c.Source != (Source{Kind: SourceRequest, RequestID: r.ID}) || c.ApprovedBy != "operator" || c.Reason != tc.create.Reason {
				t.Errorf("capability = %+v", c)
			}
			if tc.wantKind == KindLayer {
				if id := w.engine.tags[bottle.RebuiltImage("demo")]; id == "" || id != got.ImageID {
					t.Errorf("rebuilt tag names %q, the request records %q", id, got.ImageID)
				}
				if events == 0 {
					t.Error("the build sent no progress to the bottle's sink")
				}
			}
			log, err := Log(w.store, "demo")
			if err != nil || len(log) != 1 || log[0].RequestID != r.ID {
				t.Errorf("audit log = %+v, %v", log, err)
			}
		})
	}
}

// A request whose build fails is recorded failed, with the step's error,
// and the bottle is left as it was.
func TestRequestApplierFailedBuild(t *testing.T) {
	w := newWorld(t)
	reqs := request.NewStore(w.store)
	r, err := reqs.Create(context.Background(), "demo", bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "broken", Run: []string{"exit 3"}, Reason: "fails"})
	if err != nil {
		t.Fatal(err)
	}
	before := w.stateTree("demo")
	a := RequestApplier{Options: w.opts("demo"), Plan: func(slug string) (*bottle.Plan, error) {
		return &bottle.Plan{Slug: slug, Repo: w.repo, Context: w.repo}, nil
	}}
	got, err := reqs.Approve(context.Background(), request.ApproveOptions{ID: r.ID, By: "operator", Applier: a})
	var be *BuildError
	if !errors.As(err, &be) || be.Capability != "broken" {
		t.Fatalf("Approve error = %v, want a BuildError naming the capability", err)
	}
	if got.State != bottleapi.StateFailed || !strings.Contains(got.Error, "broken") {
		t.Errorf("request = %s, error %q", got.State, got.Error)
	}
	// Only the request file changed: the bottle's capability state did not.
	after := w.stateTree("demo")
	strip := func(s string) string {
		var keep []string
		for _, part := range strings.Split(s, "\n====\n") {
			if !strings.HasPrefix(part, request.Folder+"/") && !strings.HasPrefix(part, ".") {
				keep = append(keep, part)
			}
		}
		return strings.Join(keep, "\n====\n")
	}
	if strip(before) != strip(after) {
		t.Errorf("the bottle's state changed:\nbefore:\n%s\nafter:\n%s", strip(before), strip(after))
	}
	if _, ok := w.engine.tags[bottle.RebuiltImage("demo")]; ok {
		t.Error("a failed build tagged the bottle's image")
	}
}
