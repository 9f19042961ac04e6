//go:build linux

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// One headless chromium serves every browser test of the package: it is
// started at the first test that needs it and stopped when the test
// binary ends. Each test opens its own tab.

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
)

// chromiumPath returns Debian's chromium, skipping (or failing in CI)
// without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "no chromium (apt-get install chromium)")
	return ""
}

// newTab opens a tab of the shared browser, bounded by timeout.
func newTab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	path := chromiumPath(t)
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.WindowSize(1440, 1000),
			chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is small in containers
		)
		if os.Geteuid() == 0 {
			// Chromium refuses to start as root with its sandbox on, and
			// these tests run as root in CI (scripts/setup and the engine
			// need it). The page it loads is our own dashboard on loopback.
			opts = append(opts, chromedp.NoSandbox)
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		// The first Do starts the browser and ties it to ctx, which must
		// not time out; a start that hangs is cut by the timer instead.
		hung := time.AfterFunc(30*time.Second, cancel)
		browserErr = chromedp.Do(ctx)
		hung.Stop()
		if browserErr != nil {
			cancel()
			cancelAlloc()
			return
		}
		browserCtx = ctx
		testenv.AtExit(func() { cancel(); cancelAlloc() })
	})
	if browserErr != nil {
		t.Fatalf("starting chromium: %v", browserErr)
	}
	tab, cancelTab := chromedp.NewContext(browserCtx)
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// newIncognitoTab opens a tab in a fresh browser context: no cookie of
// the other tabs.
func newIncognitoTab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	newTab(t, timeout) // starts the browser if needed
	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, timeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// screenshotDir is where browser tests save their screenshots:
// $CB_SCREENSHOTS, else bin/screenshots in the repo.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CB_SCREENSHOTS")
	if dir == "" {
		root, err := testenv.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves the whole page as name.png in screenshotDir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	t.Logf("screenshot: %s", path)
}
