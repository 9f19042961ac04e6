//go:build !linux

package inbottle

import (
	"context"
	"fmt"
	"io"
)

// Init runs only in a Linux bottle; elsewhere it says so.
func Init(ctx context.Context, o InitOptions, stderr io.Writer) int {
	fmt.Fprintln(stderr, "claude-bottle init: runs only as a Linux bottle's PID 1")
	return 125
}
