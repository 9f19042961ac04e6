package main

import (
	"context"
	"fmt"
	"os"

	"github.com/claude-bottle/claude-bottle/progress"
)

// newPrinter starts the build progress display that --progress names (or
// $BUILDKIT_PROGRESS, when --progress is auto), on stderr; its errors are
// bad usage.
func (a *app) newPrinter(ctx context.Context, mode string) (*progress.Printer, error) {
	m, err := progress.ParseMode(mode, os.Getenv(progress.EnvMode), a.io.errTerminal)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--progress: %w", err))
	}
	p, err := progress.NewPrinter(ctx, a.io.err, m)
	if err != nil {
		return nil, usageErr(fmt.Errorf("--progress %s: %w", mode, err))
	}
	return p, nil
}
