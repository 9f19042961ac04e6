package launch

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotStatic classes a claude-bottle binary that cannot be a bottle's
// PID 1: it must run in any image, even one with no C library.
var ErrNotStatic = errors.New("claude-bottle binary is not static")

// InitBinary returns the host path of the claude-bottle binary to mount as
// a bottle's PID 1: bin, else this process's own executable, with links
// resolved and checked to be a static Linux executable (CheckStatic).
func InitBinary(bin string) (string, error) {
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("finding claude-bottle's own binary to mount in the bottle: %w", err)
		}
		bin = self
	}
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		return "", fmt.Errorf("the claude-bottle binary to mount in the bottle: %w", err)
	}
	return real, CheckStatic(real)
}

// CheckStatic refuses a binary that is not a static Linux ELF executable:
// one with an interpreter (PT_INTERP) needs a dynamic loader and C
// library the bottle's image may not have.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s is not a Linux executable (%v); bottles run the claude-bottle binary itself as PID 1, so run a Linux build of claude-bottle", ErrNotStatic, path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s is linked dynamically (it has an ELF interpreter) and bottles run it as PID 1 in images without a C library; build claude-bottle with CGO_ENABLED=0", ErrNotStatic, path)
		}
	}
	return nil
}
