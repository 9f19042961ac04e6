package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// maxFileSize bounds what is read of config.toml: a settings file is a
// few hundred bytes, and a huge one (or /dev/zero behind a link) is a
// mistake.
const maxFileSize = 1 << 20

// readSafe reads the config file at path under the rules the state folder
// follows: the file itself (never a symbolic link), regular, yours, and
// written by nobody else, since it names binaries claude-bottle runs
// (docker.bin) and where it sends builds. A missing file reads as nothing
// (ok false).
func readSafe(path string) (data []byte, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case errors.Is(err, syscall.ELOOP):
		return nil, false, fmt.Errorf("%w: %s is a symbolic link, which claude-bottle does not follow for its settings; replace it with the file itself", ErrConfig, path)
	case err != nil:
		return nil, false, fmt.Errorf("%w: reading %s: %v", ErrConfig, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("%w: reading %s: %v", ErrConfig, path, err)
	}
	if err := checkSafeFile(path, fi); err != nil {
		return nil, false, err
	}
	data, err = io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("%w: reading %s: %v", ErrConfig, path, err)
	}
	if len(data) > maxFileSize {
		return nil, false, fmt.Errorf("%w: %s is larger than %d bytes; it is not a claude-bottle config file", ErrConfig, path, maxFileSize)
	}
	return data, true, nil
}

// checkSafeFile refuses a config file (fi is its stat) that is not a
// regular file, that another user could write, or that is not yours.
func checkSafeFile(path string, fi fs.FileInfo) error {
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file; move it away", ErrConfig, path)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: %s is writable by other users (mode %04o), who could choose what claude-bottle runs; run chmod go-w %s", ErrConfig, path, fi.Mode().Perm(), path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s belongs to user %d, not you (%d), who could choose what claude-bottle runs; chown it or remove it", ErrConfig, path, st.Uid, os.Geteuid())
	}
	return nil
}
