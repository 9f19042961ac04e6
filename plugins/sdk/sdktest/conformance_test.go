package sdktest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/sdktest"
)

// fake is a driver that builds nothing but behaves as a driver must: it
// reads the Dockerfile the checks give it, reports one step, waits on a
// "sleep 60" step until its context ends, and fetches the secret a RUN
// mounts. bad makes it break one rule.
type fake struct {
	bad  string
	busy sync.Mutex
}

func (f *fake) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "fake", Version: "1", Features: map[driver.Feature]bool{driver.FeatureSecrets: true}}, nil
}

func (f *fake) Check(context.Context) error { return nil }

func (f *fake) Build(ctx context.Context, req driver.Request, sink driver.Sink) (*driver.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if f.bad != "accepts-undeclared" && (len(req.SSH) > 0 || len(req.CacheTo)+len(req.CacheFrom)+len(req.Outputs)+len(req.NoCacheStages) > 0 || req.Push || len(req.Platforms) > 1) {
		return nil, fmt.Errorf("%w: the fake driver builds plain Dockerfiles only", driver.ErrUnsupported)
	}
	if f.bad == "one-at-a-time" {
		if !f.busy.TryLock() {
			return nil, fmt.Errorf("%w: busy with another build", driver.ErrBuildFailed)
		}
		defer f.busy.Unlock()
		time.Sleep(300 * time.Millisecond)
	}
	if sink == nil {
		sink = driver.Discard
	}
	df, err := os.ReadFile(req.Dockerfile)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(df)), "\n")
	step := lines[len(lines)-1]
	now := time.Now()
	v := driver.Vertex{Digest: "s1", Name: "[1/1] " + step, Started: &now}
	if f.bad == "no-start" {
		v.Started = nil
	}
	sink.Send(&driver.Event{Vertexes: []driver.Vertex{v}})
	if err := f.run(ctx, req, step); err != nil {
		return nil, err
	}
	done := time.Now()
	v.Completed = &done
	sink.Send(&driver.Event{Vertexes: []driver.Vertex{v}})
	if f.bad == "late-progress" {
		go func() {
			time.Sleep(100 * time.Millisecond)
			sink.Send(&driver.Event{Logs: []driver.Log{{Data: []byte("too late\n")}}})
		}()
	}
	sum := sha256.Sum256(df)
	id := "sha256:" + hex.EncodeToString(sum[:])
	if f.bad == "bad-image-id" {
		id = id[:20]
	}
	return &driver.Result{ImageID: id, Tags: req.Tags}, nil
}

// run "runs" the step.
func (f *fake) run(ctx context.Context, req driver.Request, step string) error {
	switch {
	case strings.Contains(step, "sleep 60"):
		wait := time.Minute
		if f.bad == "ignores-cancel" {
			time.Sleep(7 * time.Second)
			return nil
		}
		select {
		case <-ctx.Done():
			return driver.Canceled(ctx, ctx.Err())
		case <-time.After(wait):
		}
	case strings.Contains(step, "type=secret"):
		v, err := req.SecretSource.Secret(ctx, "sdktest")
		if err != nil {
			return err
		}
		args := []string{"-c", "sleep 0.3"}
		if f.bad == "secret-in-argv" {
			args = append(args, "sh", string(v))
		}
		return exec.CommandContext(ctx, "/bin/sh", args...).Run()
	}
	return nil
}

func fakePlugin(bad string) sdk.Plugin {
	return sdk.Plugin{Name: "fake", Version: "1", New: func(context.Context, driver.Config) (driver.Builder, error) { return &fake{bad: bad}, nil }}
}

// A driver that keeps every rule passes every check.
func TestConformanceOfAGoodDriver(t *testing.T) {
	sdktest.Conformance(t, fakePlugin(""), driver.Config{}, sdktest.Options{Base: "FROM scratch"})
}

// TestConformanceFailsBadDrivers runs the suite on drivers that each break
// one rule, each in a test process of its own (TestBadDriver), and checks
// the suite fails them saying why.
func TestConformanceFailsBadDrivers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite in subprocesses")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ bad, says string }{
		{"ignores-cancel", "after the cancel, want within"},
		{"late-progress", "sent progress after Build returned"},
		{"no-start", "was sent without its start time"},
		{"bad-image-id", "want sha256: and 64 lowercase hex digits"},
		{"accepts-undeclared", "want driver.ErrUnsupported"},
		{"secret-in-argv", "the secret's value was in the arguments of pid"},
		{"one-at-a-time", "of two at once"},
	} {
		t.Run(tc.bad, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(self, "-test.run=^TestBadDriver$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "SDKTEST_BAD_DRIVER="+tc.bad)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a driver that is %s:\n%s", tc.bad, out)
			}
			if !strings.Contains(string(out), tc.says) || !strings.Contains(string(out), "--- FAIL: TestBadDriver") {
				t.Errorf("the suite failed a driver that is %s without saying %q:\n%s", tc.bad, tc.says, out)
			}
		})
	}
}

// TestBadDriver is run by TestConformanceFailsBadDrivers.
func TestBadDriver(t *testing.T) {
	bad := os.Getenv("SDKTEST_BAD_DRIVER")
	if bad == "" {
		t.Skip("run by TestConformanceFailsBadDrivers")
	}
	sdktest.Conformance(t, fakePlugin(bad), driver.Config{}, sdktest.Options{Base: "FROM scratch"})
}
