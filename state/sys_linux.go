package state

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncFS flushes the whole file system holding dir to disk (syncfs(2)):
// one call where a folder of many small files would take an fsync each.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}
