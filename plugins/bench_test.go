package plugins

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
)

// BenchmarkStartHandshake measures starting a driver process up to the
// point it serves calls (exec, handshake, protocol negotiation, Configure),
// with the binary warm in the page cache. "installed" adds the SHA-256
// check of the binary (the test binary, a realistic size).
func BenchmarkStartHandshake(b *testing.B) {
	b.Run("built-in", func(b *testing.B) {
		m := newTestManager(b, Options{})
		d := Descriptor{Name: testDriver, Source: SourceBuiltin, Path: testSelf(b), BuiltIn: true, Verified: true}
		benchStart(b, m, d)
	})
	b.Run("installed", func(b *testing.B) {
		m := newTestManager(b, Options{})
		dir, err := m.ensurePluginsDir()
		if err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, BinaryName("bench"))
		copyFile(b, testSelf(b), p)
		sum, _ := fileSum(p)
		want, _ := lockEntry{SHA256: sum}.sum("bench")
		benchStart(b, m, Descriptor{Name: "bench", Source: SourceInstalled, Path: p, Verified: true, sum: want})
	})
}

func benchStart(b *testing.B, m *Manager, d Descriptor) {
	ctx := context.Background()
	// One start first, so the binary is warm.
	if inst, err := m.start(ctx, d); err != nil {
		b.Fatal(err)
	} else {
		inst.kill()
	}
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		inst, err := m.start(ctx, d)
		times = append(times, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		inst.kill()
		b.StartTimer()
	}
	reportMedian(b, times)
}

func reportMedian(b *testing.B, times []time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e6, "ms-median")
}

// BenchmarkBuildRoundTrip measures a no-op build through a running plugin
// against the same driver called in-process: the difference is what the
// process boundary costs each build.
func BenchmarkBuildRoundTrip(b *testing.B) {
	ctx := context.Background()
	req := echoRequest(b, nil)
	b.Run("in-process", func(b *testing.B) {
		d, _ := newEcho(ctx, driver.Config{})
		benchBuild(b, d, req, 0)
	})
	b.Run("plugin", func(b *testing.B) {
		m := newTestManager(b, Options{})
		d, err := m.Open(ctx, testDriver)
		if err != nil {
			b.Fatal(err)
		}
		benchBuild(b, d, req, 0)
	})
	// A stream of many small events: events/s through the boundary.
	for _, n := range []int{1000, 100000} {
		b.Run("plugin-events-"+strconv.Itoa(n), func(b *testing.B) {
			m := newTestManager(b, Options{})
			d, err := m.Open(ctx, testDriver)
			if err != nil {
				b.Fatal(err)
			}
			r := req
			r.BuildArgs = map[string]string{"events": strconv.Itoa(n)}
			benchBuild(b, d, r, n)
		})
	}
}

func benchBuild(b *testing.B, d driver.Builder, req driver.Request, events int) {
	ctx := context.Background()
	got := 0
	sink := driver.SinkFunc(func(ev *driver.Event) { got += len(ev.Logs) })
	if _, err := d.Build(ctx, req, sink); err != nil { // warm up
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	got = 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := d.Build(ctx, req, sink); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(t0))
	}
	b.StopTimer()
	if got != events*b.N {
		b.Fatalf("got %d events, want %d", got, events*b.N)
	}
	if events > 0 {
		b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "events/s")
	}
	reportMedian(b, times)
}

func copyFile(b testing.TB, src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}
