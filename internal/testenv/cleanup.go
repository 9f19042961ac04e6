package testenv

import "sync"

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// AtExit registers fn to run when the test binary ends (see RunCleanups),
// for daemons that tests share through a sync.Once and that no single
// test's Cleanup may stop.
func AtExit(fn func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, fn)
}

// RunCleanups runs every AtExit function, last registered first. A test
// package that shares daemons calls it from TestMain after m.Run.
func RunCleanups() {
	cleanupMu.Lock()
	fns := cleanups
	cleanups = nil
	cleanupMu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}
