package main

import (
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

// transcriptOptions turns config.toml's [transcript] bounds into how
// launch bounds the snapshot.
func transcriptOptions(b config.TranscriptBounds) launch.TranscriptOptions {
	return launch.TranscriptOptions{
		Limits:  state.TranscriptLimits{Bytes: b.MaxBytes, Entries: b.MaxEntries, Depth: b.MaxDepth},
		Timeout: b.Timeout,
	}
}
