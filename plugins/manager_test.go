package plugins

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func echoRequest(t testing.TB, args map[string]string) driver.Request {
	t.Helper()
	dir := t.TempDir()
	return driver.Request{Dockerfile: dir + "/Dockerfile", ContextDir: dir, Tags: []string{"x:1"}, BuildArgs: args}
}

func TestBuiltinRoundTrip(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{Config: driver.Config{Opts: map[string]string{"x": "from-host"}}})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "echo" || !info.Supports(driver.FeatureSecrets) || info.Supports(driver.FeatureSSH) || len(info.Notes) != 1 {
		t.Errorf("Info = %+v", info)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	var got int
	res, err := b.Build(ctx, echoRequest(t, map[string]string{"events": "1000"}), driver.SinkFunc(func(ev *driver.Event) { got += len(ev.Logs) }))
	if err != nil {
		t.Fatal(err)
	}
	if got != 1000 {
		t.Errorf("got %d log events, want 1000", got)
	}
	if res.ImageID != "sha256:1000" || res.Steps != (driver.StepCount{Total: 3, Cached: 1}) || res.Duration != 1500*time.Millisecond ||
		res.Metadata["opt"] != "from-host" || !strings.HasSuffix(res.Metadata["dockerfile"], "/Dockerfile") {
		t.Errorf("Result = %+v", res)
	}
}

func TestConcurrentBuildsShareOneProcess(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	b, err := m.Open(ctx, testDriver)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			_, err := b.Build(ctx, echoRequest(t, map[string]string{"events": "200"}), driver.SinkFunc(func(ev *driver.Event) { n++ }))
			if err == nil && n == 0 {
				err = errors.New("no events")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(m.slots); n != 1 {
		t.Errorf("%d driver slots, want 1", n)
	}
}
