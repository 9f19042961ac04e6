package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// execFD is the descriptor an installed plugin's verified binary has in the
// child (cmd.ExtraFiles[0]), which the child is executed through: the
// kernel runs the very file that was hashed, whatever the path names by
// then.
const execFD = 3

// execPath is how a child names its descriptor execFD for execve.
var execPath = fmt.Sprintf("/proc/self/fd/%d", execFD)

// openVerified opens the installed plugin at path without following a
// symbolic link, checks the open file (regular, executable, ours or root's,
// written by nobody else) and its SHA-256 against want, and returns it for
// the caller to execute through execPath. Verifying the path and then
// executing the path would run whatever was swapped in between.
func openVerified(path string, want []byte) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link; install the plugin with claude-bottle plugin install, which copies it", ErrBadPlugin, path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v; reinstall the plugin", ErrBadPlugin, path, err)
	}
	if err := verifyOpen(f, path, want); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func verifyOpen(f *os.File, path string, want []byte) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadPlugin, path, err)
	}
	if err := checkFileInfo(path, fi); err != nil {
		return err
	}
	h := sha256.New()
	// A section reader reads from offset 0 without moving the file's
	// offset, which the child would share.
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, fi.Size())); err != nil {
		return fmt.Errorf("%w: checking %s: %v", ErrChecksum, path, err)
	}
	if got := h.Sum(nil); hex.EncodeToString(got) != hex.EncodeToString(want) {
		return fmt.Errorf("%w: %s has changed since it was installed (its SHA-256 is no longer %s), so it was not run; if you trust the new binary, reinstall it with claude-bottle plugin install",
			ErrChecksum, path, hex.EncodeToString(want))
	}
	return nil
}
