// Package integration tests claude-bottle end to end against the real parts:
// the Docker engine, a standalone buildkitd, a registry on 127.0.0.1 and the
// driver plugins. Tests skip with a reason when a part is missing, and fail
// instead under CI=true.
package integration

import (
	"os"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RunCleanups()
	printTally(os.Stdout)
	os.Exit(code)
}
