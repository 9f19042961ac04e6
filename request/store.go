package request

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/state"
)

// Names inside a bottle's state folder.
const (
	// Folder is the bottle's subfolder holding one file per request.
	Folder   = "requests"
	lockName = ".requests.lock"
	fileExt  = ".json"
	// maxRecord bounds a request file: the limits on what a bottle sends
	// keep real ones far smaller.
	maxRecord = 256 << 10
)

// MaxOpen bounds the open requests (pending or suggested) of one bottle, so
// a runaway agent cannot fill the disk.
const MaxOpen = 64

// Error classes.
var (
	// ErrNotFound: no request has that ID (in that bottle, or anywhere).
	ErrNotFound = errors.New("no such request")
	// ErrDecided: the request was decided already (or expired); nothing
	// was changed.
	ErrDecided = errors.New("request already decided")
	// ErrTooMany: the bottle has MaxOpen open requests already.
	ErrTooMany = errors.New("too many open requests")
)

// Store keeps requests in the bottles' state folders.
type Store struct {
	st *state.Store
	// now is the clock; tests replace it.
	now func() time.Time
	// pollEvery is how often Watch and long polls look at the files.
	pollEvery time.Duration
}

// NewStore returns the request store over a state store.
func NewStore(st *state.Store) *Store {
	return &Store{st: st, now: time.Now, pollEvery: 200 * time.Millisecond}
}

// State returns the state store underneath.
func (s *Store) State() *state.Store { return s.st }

func fileName(id string) string { return id + fileExt }

// Get reads one request of one bottle.
func (s *Store) Get(slug, id string) (*Request, error) {
	if err := bottleapi.ValidateID(id); err != nil {
		return nil, err
	}
	b, err := s.st.Bottle(slug)
	if err != nil {
		return nil, err
	}
	return s.read(b, id)
}

func (s *Store) read(b *state.Bottle, id string) (*Request, error) {
	data, err := b.ReadFile(Folder, fileName(id), maxRecord)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: bottle %s has no request %s", ErrNotFound, b.Slug(), id)
	}
	if err != nil {
		return nil, err
	}
	var r Request
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("request file %s of bottle %s is damaged (%v); remove it", fileName(id), b.Slug(), err)
	}
	if r.Version > recordVersion {
		return nil, fmt.Errorf("request %s of bottle %s has format %d, newer than this claude-bottle understands (%d): upgrade claude-bottle", id, b.Slug(), r.Version, recordVersion)
	}
	if r.ID != id || r.Slug != b.Slug() {
		return nil, fmt.Errorf("request file %s of bottle %s names request %q of bottle %q; remove it", fileName(id), b.Slug(), r.ID, r.Slug)
	}
	return &r, nil
}

// List returns a bottle's requests, oldest first.
func (s *Store) List(slug string) ([]*Request, error) {
	b, err := s.st.Bottle(slug)
	if err != nil {
		return nil, err
	}
	files, err := b.ListFiles(Folder, fileExt)
	if err != nil {
		return nil, err
	}
	out := make([]*Request, 0, len(files))
	for _, f := range files {
		id := strings.TrimSuffix(f.Name, fileExt)
		if bottleapi.ValidateID(id) != nil {
			continue // not ours
		}
		r, err := s.read(b, id)
		if errors.Is(err, ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sortRequests(out)
	return out, nil
}

// ListAll returns every bottle's requests, oldest first.
func (s *Store) ListAll() ([]*Request, error) {
	slugs, err := s.st.List()
	if err != nil {
		return nil, err
	}
	var out []*Request
	for _, slug := range slugs {
		rs, err := s.List(slug)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	sortRequests(out)
	return out, nil
}

func sortRequests(rs []*Request) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].CreatedAt.Equal(rs[j].CreatedAt) {
			return rs[i].CreatedAt.Before(rs[j].CreatedAt)
		}
		return rs[i].ID < rs[j].ID
	})
}

// Find reads a request by ID alone, looking through every bottle: IDs are
// unique across bottles.
func (s *Store) Find(id string) (*Request, error) {
	if err := bottleapi.ValidateID(id); err != nil {
		return nil, err
	}
	slug, ok, err := s.locate(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no bottle has request %s; see `claude-bottle request list`", ErrNotFound, id)
	}
	return s.Get(slug, id)
}

// locate finds the bottle holding id.
func (s *Store) locate(id string) (string, bool, error) {
	slugs, err := s.st.List()
	if err != nil {
		return "", false, err
	}
	for _, slug := range slugs {
		b, err := s.st.Bottle(slug)
		if err != nil {
			return "", false, err
		}
		dir, err := b.SubdirPath(Folder)
		if err != nil {
			return "", false, err
		}
		if _, err := os.Lstat(filepath.Join(dir, fileName(id))); err == nil {
			return slug, true, nil
		}
	}
	return "", false, nil
}

// newID draws an ID no bottle uses yet ("rq-" and 10 hex digits).
func (s *Store) newID() (string, error) {
	for range 10 {
		var b [5]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		id := "rq-" + hex.EncodeToString(b[:])
		if _, taken, err := s.locate(id); err != nil {
			return "", err
		} else if !taken {
			return id, nil
		}
	}
	return "", errors.New("could not draw an unused request ID")
}

// write stores r, atomically.
func (s *Store) write(b *state.Bottle, r *Request) error {
	r.Version = recordVersion
	r.UpdatedAt = s.now().UTC()
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return b.WriteFile(Folder, fileName(r.ID), append(data, '\n'))
}

// locked runs fn holding the bottle's request lock.
func (s *Store) locked(ctx context.Context, slug string, fn func(b *state.Bottle) error) error {
	b, err := s.st.Bottle(slug)
	if err != nil {
		return err
	}
	unlock, err := b.Lock(ctx, lockName)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(b)
}

// update reads a request under the bottle's lock, lets fn change it, and
// writes it when fn says it changed: fn may both change it and return an
// error (an overdue request is expired and the decision refused).
func (s *Store) update(ctx context.Context, slug, id string, fn func(r *Request) (changed bool, err error)) (*Request, error) {
	var out *Request
	err := s.locked(ctx, slug, func(b *state.Bottle) error {
		r, err := s.read(b, id)
		if err != nil {
			return err
		}
		changed, ferr := fn(r)
		if changed {
			if err := s.write(b, r); err != nil {
				return err
			}
		}
		out = r
		return ferr
	})
	return out, err
}

// Create stores a new pending request from a bottle. The input is checked
// first; nothing is written if it is refused.
func (s *Store) Create(ctx context.Context, slug string, c bottleapi.CreateRequest) (*Request, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	wait, _ := c.Wait()
	now := s.now().UTC()
	r := &Request{
		Slug: slug, Kind: c.Kind, State: bottleapi.StatePending, Origin: OriginAgent, Name: c.Name,
		Run: c.Run, Packages: c.Packages, Hosts: c.Hosts, Reason: c.Reason,
		CreatedAt: now, Deadline: now.Add(wait),
	}
	return r, s.add(ctx, r)
}

// add gives r an ID and stores it, refusing when the bottle has too many
// open requests.
func (s *Store) add(ctx context.Context, r *Request) error {
	return s.locked(ctx, r.Slug, func(b *state.Bottle) error {
		open, err := s.open(r.Slug)
		if err != nil {
			return err
		}
		if len(open) >= MaxOpen {
			return fmt.Errorf("%w: bottle %s has %d requests waiting for the operator; wait for decisions before asking again", ErrTooMany, r.Slug, len(open))
		}
		if r.ID, err = s.newID(); err != nil {
			return err
		}
		return s.write(b, r)
	})
}

// open lists the bottle's requests the operator may still decide (overdue
// ones, about to expire, excluded).
func (s *Store) open(slug string) ([]*Request, error) {
	all, err := s.List(slug)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []*Request
	for _, r := range all {
		if r.State.Open() && !r.overdue(now) {
			out = append(out, r)
		}
	}
	return out, nil
}
