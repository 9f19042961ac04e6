package launch

import (
	"fmt"

	"github.com/claude-bottle/claude-bottle/state"
)

// RunLockName is the lock file in a bottle's state folder that the launch
// running the bottle holds for as long as it runs (flock: it goes with the
// process, even a killed one).
const RunLockName = ".run.lock"

// LockRun takes bottle b's run lock, or fails with ErrAlreadyRunning and
// one line saying what to do when another launch holds it. The returned
// release gives it back.
func LockRun(b *state.Bottle) (release func(), err error) {
	unlock, ok, err := b.TryLockTransient(RunLockName)
	if err != nil {
		return nil, fmt.Errorf("taking bottle %s's run lock: %w", b.Slug(), err)
	}
	if !ok {
		s := b.Slug()
		return nil, fmt.Errorf("%w: another claude-bottle launch runs bottle %s; join it with `claude-bottle launch %s --attach`, or stop it with `claude-bottle stop %s`", ErrAlreadyRunning, s, s, s)
	}
	return unlock, nil
}
