package wire

import (
	"errors"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func panicsHere() { panic("boom") }

func TestPanickedShowsThePanicAndWhereItHappened(t *testing.T) {
	var err error
	func() {
		defer func() { err = Panicked(recover(), debug.Stack()) }()
		panicsHere()
	}()
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "panic: boom" || lines[1] != "" || !strings.HasPrefix(lines[2], "goroutine ") {
		t.Fatalf("report starts %q", lines[:3])
	}
	if !strings.Contains(lines[3], "wire.panicsHere") {
		t.Errorf("first frame = %q, want the function that panicked (not the recovery's frames)", lines[3])
	}
	if !errors.Is(err, driver.ErrDriverCrashed) || !errors.Is(err, ErrPanicked) {
		t.Errorf("Panicked is not classed as a crash: %v", err)
	}
	// Its classes cross the boundary.
	back, _ := FromStatus(ToStatus(err))
	if !errors.Is(back, ErrPanicked) || back.Error() != err.Error() {
		t.Errorf("across the boundary: %v", back)
	}
}
