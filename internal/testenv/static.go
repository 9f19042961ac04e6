package testenv

import (
	"debug/elf"
	"fmt"
	"testing"
)

// StaticClaudeBottle returns the claude-bottle binary ClaudeBottle builds
// (with CGO_ENABLED=0, as bottles get it: it runs in images with no libc),
// checked to ask for no ELF interpreter. One build serves both.
func StaticClaudeBottle(t testing.TB) string {
	t.Helper()
	bin := ClaudeBottle(t)
	if err := checkStatic(bin); err != nil {
		t.Fatalf("%v", err)
	}
	return bin
}

// checkStatic refuses an ELF with a PT_INTERP program header (one that
// needs a dynamic loader).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked (it has PT_INTERP)", path)
		}
	}
	return nil
}
