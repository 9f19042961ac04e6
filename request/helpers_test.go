package request

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/state"
)

// newTestStore opens a request store on a fresh state root (absent until
// something writes it), polling fast so tests stay quick.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	st, err := state.Open(filepath.Join(t.TempDir(), "home"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(st)
	s.pollEvery = 10 * time.Millisecond
	return s
}

// clock is a settable clock for a store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(s *Store) *clock {
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.now = c.now
	return c
}

// pkgRequest is a valid request for packages.
func pkgRequest(name string, pkgs ...string) bottleapi.CreateRequest {
	return bottleapi.CreateRequest{Kind: bottleapi.KindCapability, Name: name, Packages: pkgs, Reason: "needed for the task"}
}

func mustCreate(t testing.TB, s *Store, slug string, c bottleapi.CreateRequest) *Request {
	t.Helper()
	r, err := s.Create(context.Background(), slug, c)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return r
}

func mustGet(t testing.TB, s *Store, slug, id string) *Request {
	t.Helper()
	r, err := s.Get(slug, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", slug, id, err)
	}
	return r
}

// tree lists every file under root with its content hash, so a test can
// prove a refused call changed nothing.
func tree(t testing.TB, root string) string {
	t.Helper()
	if _, err := os.Lstat(root); errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	var lines []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := rel
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			line += " " + hex.EncodeToString(sum[:8])
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// fakeApplier records what it was asked and answers as told. While it
// runs it reads the request, so a test can check it is "applying".
type fakeApplier struct {
	store *Store
	err   error
	image string
	// block, when set, holds Apply until it is closed or ctx ends.
	block chan struct{}

	mu      sync.Mutex
	inputs  []ApplyInput
	sawWhen []bottleapi.State
}

func (f *fakeApplier) Apply(ctx context.Context, in ApplyInput) (ApplyResult, error) {
	f.mu.Lock()
	f.inputs = append(f.inputs, in)
	if r, err := f.store.Get(in.Slug, in.RequestID); err == nil {
		f.sawWhen = append(f.sawWhen, r.State)
	}
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return ApplyResult{}, ctx.Err()
		}
	}
	if f.err != nil {
		return ApplyResult{}, f.err
	}
	return ApplyResult{ImageID: f.image}, nil
}
