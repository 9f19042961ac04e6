package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// conformance holds what the checks that build share.
type conformance struct {
	o        Options
	protocol driver.Builder // the driver through the plugin protocol
	info     driver.Info
}

// buildTimeout bounds each build a check makes.
const buildTimeout = 3 * time.Minute

// imageIDRE is the form of an image ID: a config digest.
var imageIDRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// request makes a request building Base followed by steps, in a fresh
// context with Options.Files.
func (c *conformance) request(t *testing.T, steps string) driver.Request {
	t.Helper()
	dir := t.TempDir()
	for name, data := range c.o.Files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	df := filepath.Join(dir, "Dockerfile")
	body := strings.TrimRight(c.o.Base, "\n") + "\n" + steps
	if err := os.WriteFile(df, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	req := driver.Request{Dockerfile: df, ContextDir: dir, Tags: []string{"sdktest-conformance:" + random(t)}, NoLoad: true}
	if c.o.Request != nil {
		c.o.Request(&req)
	}
	return req
}

func random(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// checkBuild runs one build on the driver's own Builder and checks its
// result and progress.
func (c *conformance) checkBuild(t *testing.T, b driver.Builder) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	rec := &recorder{}
	res, err := b.Build(ctx, c.request(t, "RUN echo sdktest-"+random(t)+"\n"), rec)
	rec.buildReturned()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	checkResult(t, res)
	// A driver's goroutine still at work would send within moments.
	time.Sleep(500 * time.Millisecond)
	for _, p := range rec.report() {
		t.Error(p)
	}
}

func checkResult(t *testing.T, res *driver.Result) {
	t.Helper()
	if res == nil {
		t.Fatal("Build returned no result and no error")
	}
	if !imageIDRE.MatchString(res.ImageID) {
		t.Errorf("image ID %q: want sha256: and 64 lowercase hex digits (the image config's digest)", res.ImageID)
	}
}

// recorder is a Sink that checks the progress rules: every step has a
// start no later than its end, and nothing comes after Build returns.
type recorder struct {
	mu       sync.Mutex
	returned bool
	late     int
	steps    map[string]bool
	problems []string
}

// Send records one event.
func (r *recorder) Send(ev *driver.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.returned {
		r.late++
		return
	}
	if r.steps == nil {
		r.steps = map[string]bool{}
	}
	for _, v := range ev.Vertexes {
		r.steps[v.Digest] = true
		switch {
		case v.Started == nil:
			r.problems = append(r.problems, "step "+quote(v)+" was sent without its start time (set Vertex.Started when a step starts)")
		case v.Completed != nil && v.Completed.Before(*v.Started):
			r.problems = append(r.problems, "step "+quote(v)+" completed before it started")
		}
	}
}

func quote(v driver.Vertex) string { return `"` + v.Name + `" (` + v.Digest + ")" }

func (r *recorder) buildReturned() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.returned = true
}

// report returns what broke the rules.
func (r *recorder) report() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.problems...)
	if len(r.steps) == 0 {
		out = append(out, "the build sent no step: send a driver.Vertex as each step starts and ends")
	}
	if r.late > 0 {
		out = append(out, "the driver sent progress after Build returned; it must send nothing once Build returns")
	}
	return out
}

func (c *conformance) checkTwoAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	reqs := []driver.Request{c.request(t, "RUN echo sdktest-one-"+random(t)+"\n"), c.request(t, "RUN echo sdktest-two-"+random(t)+"\n")}
	res := make([]*driver.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = c.protocol.Build(ctx, reqs[i], nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d of two at once: %v", i+1, err)
		}
		checkResult(t, res[i])
	}
	if res[0].ImageID == res[1].ImageID {
		t.Errorf("two builds of different Dockerfiles gave one image ID %s", res[0].ImageID)
	}
}

// sleepStep is the step the cancel and deadline checks interrupt.
const sleepStep = "RUN sleep 60"

func (c *conformance) checkCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	bctx, stop := context.WithCancel(ctx)
	var (
		once     sync.Once
		mu       sync.Mutex
		canceled time.Time
	)
	cancelNow := func() {
		once.Do(func() {
			mu.Lock()
			canceled = time.Now()
			mu.Unlock()
			stop()
		})
	}
	// Once the sleep has started, or a while in if the driver never says.
	fallback := time.AfterFunc(time.Minute, cancelNow)
	defer fallback.Stop()
	sink := driver.SinkFunc(func(ev *driver.Event) {
		for _, v := range ev.Vertexes {
			if strings.Contains(v.Name, "sleep 60") && v.Completed == nil {
				cancelNow()
			}
		}
	})
	_, err := c.protocol.Build(bctx, c.request(t, sleepStep+"\n"), sink)
	returned := time.Now()
	mu.Lock()
	at := canceled
	mu.Unlock()
	if at.IsZero() {
		t.Fatalf("the build of %q returned before it was canceled: %v", sleepStep, err)
	}
	if !errors.Is(err, driver.ErrCanceled) {
		t.Errorf("canceled build = %v; want driver.ErrCanceled (wrap the error with driver.Canceled(ctx, err))", err)
	}
	if took := returned.Sub(at); took > c.o.Within {
		t.Errorf("Build returned %v after the cancel, want within %v: stop the work when ctx is done", took.Round(time.Millisecond), c.o.Within)
	}
}

func (c *conformance) checkDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.Deadline)
	defer cancel()
	_, err := c.protocol.Build(ctx, c.request(t, sleepStep+"\n"), nil)
	deadline, _ := ctx.Deadline()
	if !errors.Is(err, driver.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("build past its deadline = %v; want driver.ErrCanceled caused by context.DeadlineExceeded", err)
	}
	if took := time.Since(deadline); took > c.o.Within {
		t.Errorf("Build returned %v after its deadline, want within %v", took.Round(time.Millisecond), c.o.Within)
	}
}
