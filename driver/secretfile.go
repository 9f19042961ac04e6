package driver

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSecretSize is the largest secret a build may mount: BuildKit's own
// limit for a secret's value (500 KiB).
const MaxSecretSize = 500 << 10

// readSecretFile reads secret id from the file src. Only a regular file of
// at most MaxSecretSize is read: a FIFO would block the build (and Ctrl-C)
// forever, and /dev/zero would fill memory. The file is opened
// non-blocking so that even a FIFO with no writer is refused at once.
func readSecretFile(id, src string) ([]byte, error) {
	f, err := os.OpenFile(src, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: secret %q: %v", ErrInvalidRequest, id, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: secret %q: %v", ErrInvalidRequest, id, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: secret %q: %s is not a regular file (%s); give a file holding the secret's value",
			ErrInvalidRequest, id, src, fileKind(fi.Mode()))
	}
	if fi.Size() > MaxSecretSize {
		return nil, fmt.Errorf("%w: secret %q: %s is %d bytes, over BuildKit's limit of %d (500 KiB) for a secret; give a smaller file",
			ErrInvalidRequest, id, src, fi.Size(), MaxSecretSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: secret %q: %v", ErrInvalidRequest, id, err)
	}
	if len(data) > MaxSecretSize {
		return nil, fmt.Errorf("%w: secret %q: %s grew past BuildKit's limit of %d bytes (500 KiB) while being read", ErrInvalidRequest, id, src, MaxSecretSize)
	}
	return data, nil
}

// fileKind names what a non-regular file is, for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}
