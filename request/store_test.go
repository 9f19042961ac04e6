package request

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/state"
)

func TestCreateStoresOneFileEach(t *testing.T) {
	s := newTestStore(t)
	c := withClock(s)
	r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	if !regexp.MustCompile(`^rq-[0-9a-f]{10}$`).MatchString(r.ID) {
		t.Fatalf("ID %q", r.ID)
	}
	if r.State != bottleapi.StatePending || r.Origin != OriginAgent || !r.Deadline.Equal(c.now().Add(bottleapi.DefaultWait)) {
		t.Errorf("record %+v", r)
	}
	dir := filepath.Join(s.st.StateDir(), "demo", Folder)
	path := filepath.Join(dir, r.ID+".json")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file %s: %v %v", path, fi.Mode(), err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("folder mode %v", di.Mode().Perm())
	}
	var onDisk Request
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk.ID != r.ID || onDisk.Version != recordVersion || onDisk.Slug != "demo" {
		t.Errorf("on disk %s: %v", data, err)
	}
	got := mustGet(t, s, "demo", r.ID)
	if got.Name != "jq" || got.Packages[0] != "jq" {
		t.Errorf("Get = %+v", got)
	}
	withWait := pkgRequest("curl", "curl")
	withWait.WaitSeconds = 90
	r2 := mustCreate(t, s, "demo", withWait)
	if !r2.Deadline.Equal(c.now().Add(90 * time.Second)) {
		t.Errorf("deadline %v", r2.Deadline)
	}
	list, err := s.List("demo")
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}
}

func TestRefusedInputWritesNothing(t *testing.T) {
	s := newTestStore(t)
	for _, c := range []bottleapi.CreateRequest{
		{Kind: bottleapi.KindCapability, Name: "jq", Run: []string{"true\nUSER root"}, Reason: "r"},
		{Kind: bottleapi.KindCapability, Name: "../x", Packages: []string{"jq"}, Reason: "r"},
		{Kind: "other", Name: "jq", Packages: []string{"jq"}, Reason: "r"},
	} {
		if _, err := s.Create(context.Background(), "demo", c); !errors.Is(err, bottleapi.ErrInvalid) {
			t.Errorf("Create(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if _, err := s.Create(context.Background(), "Bad Slug", pkgRequest("jq", "jq")); !errors.Is(err, state.ErrInvalidSlug) {
		t.Errorf("bad slug: %v", err)
	}
	if got := tree(t, s.st.Root()); got != "<absent>" {
		t.Errorf("refused input wrote:\n%s", got)
	}
}

func TestIDsAreFoundAcrossBottlesOnly(t *testing.T) {
	s := newTestStore(t)
	a := mustCreate(t, s, "alpha", pkgRequest("jq", "jq"))
	b := mustCreate(t, s, "beta", pkgRequest("jq", "jq"))
	if a.ID == b.ID {
		t.Fatal("two bottles got the same ID")
	}
	for _, r := range []*Request{a, b} {
		got, err := s.Find(r.ID)
		if err != nil || got.Slug != r.Slug {
			t.Errorf("Find(%s) = %+v, %v", r.ID, got, err)
		}
	}
	if _, err := s.Get("beta", a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of another bottle's request: %v, want ErrNotFound", err)
	}
	if _, err := s.Find("rq-0000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find of nothing: %v", err)
	}
	if _, err := s.Find("../../etc/passwd"); !errors.Is(err, bottleapi.ErrInvalid) {
		t.Errorf("Find of a path: %v", err)
	}
	all, err := s.ListAll()
	if err != nil || len(all) != 2 {
		t.Errorf("ListAll = %v, %v", all, err)
	}
}

func TestDamagedOrForeignFilesAreRefused(t *testing.T) {
	s := newTestStore(t)
	r := mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	path := filepath.Join(s.st.StateDir(), "demo", Folder, r.ID+".json")
	other := mustCreate(t, s, "other", pkgRequest("jq", "jq"))
	otherData, _ := os.ReadFile(filepath.Join(s.st.StateDir(), "other", Folder, other.ID+".json"))
	for name, content := range map[string][]byte{
		"damaged":          []byte("{not json"),
		"another bottle's": otherData,
		"newer format":     []byte(`{"version": 99, "id": "` + r.ID + `", "slug": "demo"}`),
	} {
		os.WriteFile(path, content, 0o600)
		if _, err := s.Get("demo", r.ID); err == nil {
			t.Errorf("%s file read without error", name)
		}
	}
}

func TestTooManyOpenRequests(t *testing.T) {
	s := newTestStore(t)
	for range MaxOpen {
		mustCreate(t, s, "demo", pkgRequest("jq", "jq"))
	}
	if _, err := s.Create(context.Background(), "demo", pkgRequest("jq", "jq")); !errors.Is(err, ErrTooMany) {
		t.Fatalf("request %d: %v, want ErrTooMany", MaxOpen+1, err)
	}
	if _, _, err := s.Suggest(context.Background(), "demo", hookSuggestion("yq"), OriginHook); !errors.Is(err, ErrTooMany) {
		t.Fatalf("suggestion past the limit: %v, want ErrTooMany", err)
	}
	// Another bottle is not affected.
	mustCreate(t, s, "other", pkgRequest("jq", "jq"))
}

func TestRecordViewAndPreview(t *testing.T) {
	r := &Request{ID: "rq-0123456789", Kind: bottleapi.KindCapability, State: bottleapi.StateDenied, Name: "jq",
		Run: []string{"apk add jq"}, Reason: "parse JSON", DenyReason: "use python"}
	v := r.View()
	if v.ID != r.ID || v.DenyReason != "use python" || v.Next == "" {
		t.Errorf("View = %+v", v)
	}
	want := "# capability \"jq\": parse JSON (request rq-0123456789)\nRUN apk add jq\n"
	if got := r.Preview(); got != want {
		t.Errorf("Preview =\n%s\nwant\n%s", got, want)
	}
	r.Edited = &bottleapi.Edits{Packages: []string{"jq"}}
	if got := r.Preview(); got != "# capability \"jq\": parse JSON (request rq-0123456789)\n# packages jq, installed with the base's package manager (apt, apk or dnf)\n" {
		t.Errorf("Preview with an edit =\n%s", got)
	}
	for _, st := range []bottleapi.State{bottleapi.StateSuggested, bottleapi.StatePending, bottleapi.StateApproved, bottleapi.StateApplying, bottleapi.StateApplied, bottleapi.StateFailed, bottleapi.StateDenied, bottleapi.StateExpired} {
		if (&Request{State: st}).Next() == "" {
			t.Errorf("no next sentence for %s", st)
		}
	}
}

// TestNameRuleIsTheSlugRule keeps bottleapi's name rule (which cannot
// import state) in step with the slug rule it copies.
func TestNameRuleIsTheSlugRule(t *testing.T) {
	for _, n := range []string{"jq", "a", "python-dev", "a.b", "a_b", "a__b", "a---b", "0", "a.", ".a", "a..b", "a___b", "A", "a b", "a/b",
		"-a", "a-", "a_.b", "é", "", strings.Repeat("a", 128), strings.Repeat("a", 129), "a.b-c_d__e"} {
		slugOK := state.ValidateSlug(n) == nil
		nameOK := bottleapi.ValidateName(n) == nil
		if slugOK != nameOK {
			t.Errorf("%q: slug rule says %v, name rule %v", n, slugOK, nameOK)
		}
	}
}
