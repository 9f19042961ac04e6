package launch

import (
	"archive/tar"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// fakeApplier applies every request without building anything.
type fakeApplier struct{}

func (fakeApplier) Apply(context.Context, request.ApplyInput) (request.ApplyResult, error) {
	return request.ApplyResult{ImageID: "sha256:new"}, nil
}

// TestResumeHint: no hint before a snapshot or before an approval; after
// a request is applied to a bottle whose last snapshot is older, the hint
// names the request and --resume.
func TestResumeHint(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Bottle("hint-test")
	if err != nil {
		t.Fatal(err)
	}
	rs := request.NewStore(st)
	if h := ResumeHint(rs, b); h != "" {
		t.Errorf("hint with no snapshot = %q", h)
	}
	saveSnapshot(t, b)
	if h := ResumeHint(rs, b); h != "" {
		t.Errorf("hint with no request = %q", h)
	}
	time.Sleep(10 * time.Millisecond)
	r, err := rs.Create(ctx, b.Slug(), bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: "jq", Run: []string{"true"}, Reason: "parse"})
	if err != nil {
		t.Fatal(err)
	}
	if h := ResumeHint(rs, b); h != "" {
		t.Errorf("hint with a pending request = %q", h)
	}
	if _, err := rs.Approve(ctx, request.ApproveOptions{ID: r.ID, By: "op", Applier: fakeApplier{}}); err != nil {
		t.Fatal(err)
	}
	h := ResumeHint(rs, b)
	for _, want := range []string{"bottle hint-test", r.ID, "capability jq", "--resume"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint %q does not say %q", h, want)
		}
	}
	saveSnapshot(t, b) // a later run saw the new image: nothing to say
	if h := ResumeHint(rs, b); h != "" {
		t.Errorf("hint after a newer snapshot = %q", h)
	}
}

func saveSnapshot(t *testing.T, b *state.Bottle) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: ".claude/session", Mode: 0o600, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("s1"))
	tw.Close()
	if _, err := b.SaveTranscript(&buf, "test", true); err != nil {
		t.Fatal(err)
	}
}
