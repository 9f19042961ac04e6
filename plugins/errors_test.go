package plugins

import (
	"errors"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestCrashErrorWording(t *testing.T) {
	err := &CrashError{Driver: "buildah", Exit: "signal: killed", LastLines: []string{"[INFO] building", "panic: boom"}}
	want := `driver "buildah" crashed (signal: killed); run the command again to restart it, and report the crash to the driver's author if it repeats; its last log lines:
  [INFO] building
  panic: boom`
	if err.Error() != want {
		t.Errorf("got %q\nwant %q", err.Error(), want)
	}
	if !errors.Is(err, driver.ErrDriverCrashed) {
		t.Error("not a driver.ErrDriverCrashed")
	}
}
