package state

import (
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
)

// writeFileAtomic writes data to path with atomicfile.WriteFile: readers
// see the old file or the new one whole, and a failure leaves the old one.
// A full disk is said plainly, with what to do.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	err := atomicfile.WriteFile(path, data, perm)
	if err != nil && isNoSpace(err) {
		return fmt.Errorf("%w: the disk is full; free some space and try again", err)
	}
	return err
}

func syncDir(dir string) error { return atomicfile.SyncDir(dir) }
