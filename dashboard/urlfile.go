package dashboard

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
)

// URLFile is the file in the state root that keeps the running
// dashboard's address with its token, readable by its owner only, for an
// operator who lost the printed one.
const URLFile = "dashboard.url"

// WriteURLFile writes url into root's URLFile (0600, atomically) and
// returns the function that removes it again, unless another dashboard
// has written its own since.
func WriteURLFile(root, url string) (remove func(), err error) {
	path := filepath.Join(root, URLFile)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("keeping the dashboard's address: %w", err)
	}
	data := []byte(url + "\n")
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("keeping the dashboard's address in %s: %w", path, err)
	}
	return func() {
		if now, err := os.ReadFile(path); err == nil && bytes.Equal(now, data) {
			os.Remove(path)
		}
	}, nil
}
