package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHostSecretsRefuseWhatIsNotASmallFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, MaxSecretSize+1), 0o600)
	ok := filepath.Join(dir, "ok")
	os.WriteFile(ok, make([]byte, MaxSecretSize), 0o600)
	cases := map[string]string{fifo: "is not a regular file (a FIFO)", "/dev/zero": "a character device", dir: "a folder", big: "over BuildKit's limit"}
	for src, want := range cases {
		start := time.Now()
		_, err := HostSecrets{{ID: "s", Src: src}}.Secret(context.Background(), "s")
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", src, d)
		}
	}
	if v, err := (HostSecrets{{ID: "s", Src: ok}}).Secret(context.Background(), "s"); err != nil || len(v) != MaxSecretSize {
		t.Errorf("a 500 KiB file: %d bytes, %v", len(v), err)
	}
}
