package request

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

func hookSuggestion(name string) bottleapi.Suggestion {
	return bottleapi.Suggestion{
		Kind: bottleapi.KindCapability, Name: name, Tool: "Bash", Command: name + " .a data.json",
		Error: "Exit code 127\n/bin/bash: line 1: " + name + ": command not found",
	}
}

func TestSuggestRecordsOnceAndWaitsForNobody(t *testing.T) {
	s := newTestStore(t)
	r, created, err := s.Suggest(context.Background(), "demo", hookSuggestion("jq"), OriginHook)
	if err != nil || !created {
		t.Fatalf("Suggest = %v, %v", created, err)
	}
	if r.State != bottleapi.StateSuggested || !r.Deadline.IsZero() || r.Origin != OriginHook ||
		r.Reason != "Bash failed: /bin/bash: line 1: jq: command not found" || r.Evidence.Command != "jq .a data.json" {
		t.Errorf("suggestion %+v", r)
	}
	again, created, err := s.Suggest(context.Background(), "demo", hookSuggestion("jq"), OriginHook)
	if err != nil || created || again.ID != r.ID {
		t.Errorf("the same suggestion again = %s, %v, %v", again.ID, created, err)
	}
	// An asked request for the same thing absorbs the suggestion too.
	asked := mustCreate(t, s, "demo", pkgRequest("yq", "yq"))
	if got, created, _ := s.Suggest(context.Background(), "demo", hookSuggestion("yq"), OriginHook); created || got.ID != asked.ID {
		t.Errorf("a suggestion for an asked request made %s", got.ID)
	}
	// Once decided, a new failure is a new suggestion.
	s.Deny(context.Background(), r.ID, "no", "bob")
	if _, created, _ := s.Suggest(context.Background(), "demo", hookSuggestion("jq"), OriginHook); !created {
		t.Error("a suggestion after the denial was not recorded")
	}
	bad := hookSuggestion("jq")
	bad.Error = "\x1b[31mred"
	if _, _, err := s.Suggest(context.Background(), "demo", bad, OriginHook); !errors.Is(err, bottleapi.ErrInvalid) {
		t.Errorf("hostile suggestion: %v", err)
	}
}

func TestWatchReportsNewAndChanged(t *testing.T) {
	s := newTestStore(t)
	old := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := s.Watch(ctx, "demo")
	next := func() Event {
		t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return Event{}
	}
	if ev := next(); ev.Request.ID != old.ID || !ev.Initial || ev.Previous != "" {
		t.Fatalf("first event %+v", ev)
	}
	fresh := mustCreate(t, s, "demo", pkgRequest("yq", "yq"))
	if ev := next(); ev.Request.ID != fresh.ID || ev.Initial || ev.Previous != "" {
		t.Fatalf("new request event %+v", ev)
	}
	s.Deny(context.Background(), old.ID, "no", "bob")
	if ev := next(); ev.Request.ID != old.ID || ev.Previous != bottleapi.StatePending || ev.Request.State != bottleapi.StateDenied {
		t.Fatalf("change event %+v", ev)
	}
	// Another bottle's requests are not reported.
	mustCreate(t, s, "other", pkgRequest("jq", "jq"))
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	for range ch {
	}
}
