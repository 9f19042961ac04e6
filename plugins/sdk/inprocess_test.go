package sdk

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// waiter is a driver whose builds wait for their context to end.
type waiter struct{}

func (waiter) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "waiter", Version: "1"}, nil
}
func (waiter) Check(context.Context) error { return nil }
func (waiter) Build(ctx context.Context, _ driver.Request, _ driver.Sink) (*driver.Result, error) {
	<-ctx.Done()
	return nil, driver.Canceled(ctx, ctx.Err())
}

var waiterPlugin = Plugin{Name: "waiter", New: func(context.Context, driver.Config) (driver.Builder, error) { return waiter{}, nil }}

// startInProcess serves p in process until t ends.
func startInProcess(t *testing.T, p Plugin, cfg driver.Config) driver.Builder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, stop, err := InProcess(ctx, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	return b
}

// TestInProcessDeadlineIsCancellation: the deadline travels to the
// plugin's end, which may reset the stream before this side's timer
// fires; the build is canceled all the same.
func TestInProcessDeadlineIsCancellation(t *testing.T) {
	b := startInProcess(t, waiterPlugin, driver.Config{})
	for i := 0; i < 30; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err := b.Build(ctx, driver.Request{}, nil)
		cancel()
		if !errors.Is(err, driver.ErrCanceled) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("build %d past its deadline: %v; want driver.ErrCanceled caused by the deadline", i, err)
		}
	}
}

// tidy is a driver whose canceled build takes a moment to clean up its
// temporary folder, as one that stops a CLI with SIGTERM does.
type tidy struct{}

func (tidy) Info(context.Context) (driver.Info, error) {
	return driver.Info{Name: "tidy", Version: "1"}, nil
}
func (tidy) Check(context.Context) error { return nil }
func (tidy) Build(ctx context.Context, _ driver.Request, sink driver.Sink) (*driver.Result, error) {
	dir, err := os.MkdirTemp("", "tidy-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sink.Send(&driver.Event{Logs: []driver.Log{{Data: []byte(dir)}}})
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond)
	return nil, driver.Canceled(ctx, ctx.Err())
}

// TestInProcessCanceledBuildHasCleanedUp: when a canceled build returns,
// the driver's Build has returned too, and removed its temporary folder.
func TestInProcessCanceledBuildHasCleanedUp(t *testing.T) {
	b := startInProcess(t, Plugin{Name: "tidy", New: func(context.Context, driver.Config) (driver.Builder, error) { return tidy{}, nil }}, driver.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	var dir string
	_, err := b.Build(ctx, driver.Request{}, driver.SinkFunc(func(ev *driver.Event) {
		dir = string(ev.Logs[0].Data)
		cancel()
	}))
	if !errors.Is(err, driver.ErrCanceled) {
		t.Fatalf("Build = %v, want ErrCanceled", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the driver's temporary folder %s is still there when Build returns (%v)", dir, err)
	}
}
