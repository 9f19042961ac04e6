package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

// transcriptOptions turns config.toml's [transcript] bounds and
// --resume-settings into how launch bounds the snapshot and what a resume
// restores.
func transcriptOptions(b config.TranscriptBounds, resumeSettings bool) launch.TranscriptOptions {
	return launch.TranscriptOptions{
		Limits:         state.TranscriptLimits{Bytes: b.MaxBytes, Entries: b.MaxEntries, Depth: b.MaxDepth},
		Timeout:        b.Timeout,
		ResumeSettings: resumeSettings,
	}
}

// reportSnapshot says whether the run's transcript was saved. A snapshot
// refused for what the agent left (over a limit, a link out) ends the
// command with exit 2, and one stopped by a signal with the signal's
// code (unless the agent's own status is there to report, which says
// more); either way in one line, the previous snapshot kept.
func (a *app) reportSnapshot(ctx context.Context, out launch.Outcome) error {
	switch err := out.SnapshotErr; {
	case out.Snapshot != nil:
		fmt.Fprintf(a.io.err, "transcript saved: %d files, %s\n", out.Snapshot.Files, humanBytes(out.Snapshot.Bytes))
	case err == nil:
	case errors.Is(err, state.ErrTranscriptRefused):
		return usageErr(fmt.Errorf("transcript not saved (the previous snapshot is kept): %w", err))
	case ctx.Err() != nil && out.ExitCode == 0:
		return fmt.Errorf("transcript not saved (the previous snapshot is kept): %w", err)
	default:
		// A signal that also stopped the agent: the note, then the
		// agent's own status, which says more.
		fmt.Fprintf(a.io.err, "transcript not saved (the previous snapshot is kept): %s\n", errorLine(err))
	}
	return nil
}

// checkTranscriptFlags refuses, before anything is planned or built, a
// --transcript-dir outside the agent's home in the bottle and
// --resume-settings without --resume.
func checkTranscriptFlags(o *launchOptions) error {
	if o.transcriptDir != "" {
		if err := config.CheckTranscriptDir(o.transcriptDir); err != nil {
			return usageErr(fmt.Errorf("--transcript-dir %w", err))
		}
	}
	if o.resumeSettings && !o.resume {
		return usageErr(fmt.Errorf("--resume-settings only goes with --resume"))
	}
	return nil
}
