//go:build unix && !linux

package state

import "syscall"

// syncFS flushes the file systems to disk; without syncfs(2), sync(2)
// does it for all of them.
func syncFS(dir string) error {
	syscall.Sync()
	return nil
}
