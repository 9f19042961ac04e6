package pool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
)

// Report says where a build ran and why.
type Report struct {
	// Member is the member that ran the build's last attempt; Reason why
	// it was chosen.
	Member string `json:"member"`
	Reason string `json:"reason"`
	// FailedOver names the member the first attempt died on, and Failure
	// why, when the build was retried on Member.
	FailedOver string `json:"failed_over,omitempty"`
	Failure    string `json:"failure,omitempty"`
}

// String words r in one line for a build's summary.
func (r Report) String() string {
	s := fmt.Sprintf("%s (%s)", r.Member, r.Reason)
	if r.FailedOver != "" {
		s = fmt.Sprintf("%s, retried there after %s failed: %s", s, r.FailedOver, r.Failure)
	}
	return s
}

// Sinks gives each attempt of a build its own sink, so that the steps of
// an attempt cut short are not counted with the retry's. member is the
// member the attempt runs on.
type Sinks func(member string) driver.Sink

// BuildOn runs one build on pl's member. If that member dies before the
// build finishes (its daemon becomes unreachable: driver.ErrDaemonUnreachable
// or ErrDriverCrashed), the build is retried once on the next healthy
// member in pl's hash order, and the report says so. Any other failure
// is the build's own and is returned as it is.
func (p *Pool) BuildOn(ctx context.Context, pl Placement, req driver.Request, sinks Sinks) (*driver.Result, Report, error) {
	rep := Report{Member: pl.Member, Reason: pl.Reason}
	if pl.Member == "" {
		return nil, rep, fmt.Errorf("%w: no member of the builder pool can build: %s", driver.ErrDaemonUnreachable, pl.Reason)
	}
	var res *driver.Result
	err := p.knownDown(pl.Member)
	if err != nil {
		// An earlier build of the batch found it dead since it was placed:
		// go straight to the next instead of waiting on it again.
		err = fmt.Errorf("on %s: found dead by an earlier build: %w", pl.Member, err)
	} else {
		res, err = p.attempt(ctx, pl.Member, req, sinks)
		if err == nil || !memberDied(err) || ctx.Err() != nil {
			return res, rep, err
		}
		p.markDown(pl.Member, err)
	}
	next := p.next(ctx, pl)
	if next == "" {
		return nil, rep, fmt.Errorf("%w (and no other member of the builder pool is healthy to retry on)", err)
	}
	rep.FailedOver, rep.Failure = pl.Member, err.Error()
	rep.Member = next
	rep.Reason = fmt.Sprintf("next in %s's hash order after %s died", shortKey(pl.Key), pl.Member)
	res, err = p.attempt(ctx, next, req, sinks)
	if err != nil {
		return nil, rep, fmt.Errorf("retried on %s after %s died: %w", next, pl.Member, err)
	}
	return res, rep, nil
}

// attempt runs req on member name.
func (p *Pool) attempt(ctx context.Context, name string, req driver.Request, sinks Sinks) (*driver.Result, error) {
	m, ok := p.member(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a member of the builder pool", driver.ErrInvalidRequest, name)
	}
	var sink driver.Sink
	if sinks != nil {
		sink = sinks(name)
	}
	res, err := m.Builder.Build(ctx, req, sink)
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", name, err)
	}
	return res, nil
}

// next is the first member after pl.Member in pl's hash order that
// passes its health check now.
func (p *Pool) next(ctx context.Context, pl Placement) string {
	after := false
	for _, m := range pl.Order {
		if m == pl.Member {
			after = true
			continue
		}
		if !after {
			continue
		}
		if mb, ok := p.member(m); ok && p.check(ctx, mb) == nil {
			return m
		}
	}
	return ""
}

// memberDied reports whether err means the member, not the build, failed.
func memberDied(err error) bool {
	return errors.Is(err, driver.ErrDaemonUnreachable) || errors.Is(err, driver.ErrDriverCrashed)
}

// Build places one build alone (no batch to bound) by its RequestKey and
// runs it with BuildOn. A batch places all its builds at once
// with Place and runs each with BuildOn instead.
func (p *Pool) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	key, err := RequestKey(req)
	if err != nil {
		return nil, err
	}
	if p.opts.Cache != "" {
		req.CacheFrom = append(slices.Clone(req.CacheFrom), driver.CacheSpec{Type: "registry", Attrs: map[string]string{"ref": CacheRef(p.opts.Cache, key, "")}})
	}
	pl := p.Place(ctx, []string{key})[0]
	res, _, err := p.BuildOn(ctx, pl, req, func(string) driver.Sink { return sink })
	return res, err
}

// CacheRef is the shared cache's reference for a base (slug "") or a
// bottle: REPO:base-<12 hex of key> or REPO:bottle-<slug>.
func CacheRef(repo, key, slug string) string {
	if slug != "" {
		return repo + ":bottle-" + slug
	}
	hex := strings.TrimPrefix(key, "sha256:")
	return repo + ":base-" + hex[:min(12, len(hex))]
}

// Key is the routing key of content: "sha256:" and its hex digest.
func Key(content []byte) string {
	sum := sha256.Sum256(content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// RequestKey is the routing key of one build: the Key of the base its
// Dockerfile starts with verbatim, as a rendered override starts with the
// repo's Dockerfile, or else of the Dockerfile itself. bases are the
// candidate base files, in order; none given means the Dockerfile at the
// root of the build context (the repo's). A base that cannot be read is
// passed over.
func RequestKey(req driver.Request, bases ...string) (string, error) {
	data, err := os.ReadFile(req.Dockerfile)
	if err != nil {
		return "", fmt.Errorf("%w: Dockerfile %q: %w", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	if len(bases) == 0 && req.ContextDir != "" {
		bases = []string{filepath.Join(req.ContextDir, "Dockerfile")}
	}
	for _, path := range bases {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && bytes.HasPrefix(data, b) {
			return Key(b), nil
		}
	}
	return Key(data), nil
}
