package state

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"
)

// TranscriptLimits bound what one transcript snapshot may hold. The agent
// writes its state folder, so it decides what is copied out: without
// bounds a sparse 1 TB file or a million empty files would fill the host's
// disk or take hours of fsyncs. A zero field takes its default.
type TranscriptLimits struct {
	// Bytes bounds the sum of the regular files' sizes, as their tar
	// headers declare them (a sparse file counts at its full size).
	Bytes int64
	// Entries bounds how many entries (files, folders, links, and the
	// skipped kinds too) the folder may have.
	Entries int
	// Depth bounds how many folders deep an entry may sit.
	Depth int
}

// DefaultTranscriptLimits are the limits unless config.toml's
// [transcript] table says otherwise: far above what Claude Code keeps
// after months of use, far below what hurts a host.
var DefaultTranscriptLimits = TranscriptLimits{Bytes: 2 << 30, Entries: 200_000, Depth: 64}

// WithDefaults fills the zero fields from DefaultTranscriptLimits.
func (l TranscriptLimits) WithDefaults() TranscriptLimits {
	if l.Bytes <= 0 {
		l.Bytes = DefaultTranscriptLimits.Bytes
	}
	if l.Entries <= 0 {
		l.Entries = DefaultTranscriptLimits.Entries
	}
	if l.Depth <= 0 {
		l.Depth = DefaultTranscriptLimits.Depth
	}
	return l
}

// ErrTranscriptRefused classes a snapshot refused for what the agent put
// in its state folder: over a limit, a name that climbs out, a link that
// points outside. The previous snapshot is kept.
var ErrTranscriptRefused = errors.New("transcript refused")

// maxReserve bounds the free space a snapshot always leaves on the
// state's disk (reserve), so that saving a transcript never fills it for
// everything else.
const maxReserve = 256 << 20

// reserve is the free space a snapshot leaves on a disk of size bytes:
// 1% of it, at most maxReserve.
func reserve(size int64) int64 { return min(size/100, maxReserve) }

// entryCost is what a file costs on disk besides its bytes (an inode and
// a block, about), counted against the free space only.
const entryCost = 4096

// budget counts a snapshot's entries and bytes against its limits and the
// disk's free space as the stream goes, before any entry is written.
type budget struct {
	lim     TranscriptLimits
	free    int64 // bytes the snapshot may take on disk
	entries int
	bytes   int64
}

// admit counts the entry name (already stripped and checked) of size
// bytes, refusing it when a limit would be crossed.
func (bg *budget) admit(name string, size int64) error {
	bg.entries++
	if bg.entries > bg.lim.Entries {
		return refused("it has more than %d entries (transcript.max_entries in config.toml)", bg.lim.Entries)
	}
	if d := strings.Count(name, "/") + 1; d > bg.lim.Depth {
		return refused("%s is %d folders deep, over the limit of %d (transcript.max_depth in config.toml)", short(name), d, bg.lim.Depth)
	}
	if size < 0 || size > bg.lim.Bytes-bg.bytes {
		return refused("%s is %s, which takes the snapshot over its %s limit (transcript.max_bytes in config.toml)", short(name), human(size), human(bg.lim.Bytes))
	}
	if bg.bytes+size+int64(bg.entries)*entryCost > bg.free {
		return fmt.Errorf("%s (%s) would fill the state's disk: the disk is full (%w); free some space and try again", short(name), human(size), syscall.ENOSPC)
	}
	bg.bytes += size
	return nil
}

// checkEntryName refuses a tar entry name that is absolute or has a ".."
// element: the engine never writes one, so it is forged.
func checkEntryName(name string) error {
	if strings.HasPrefix(name, "/") {
		return refused("entry %q has an absolute name", short(name))
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return refused("entry %q climbs out of the folder with ..", short(name))
		}
	}
	return nil
}

// checkLink refuses a symbolic link at name (relative to the snapshot's
// top) whose target leaves the folder: an absolute target must lie under
// top (the folder's path in the bottle), a relative one must not climb
// above it.
func checkLink(name, target, top string) error {
	var resolved string
	if path.IsAbs(target) {
		rel, ok := strings.CutPrefix(path.Clean(target), path.Clean(top)+"/")
		if !ok || top == "" {
			return refused("link %s points outside the folder, to %q", short(name), short(target))
		}
		resolved = rel
	} else {
		resolved = path.Join(path.Dir(name), target)
	}
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return refused("link %s points outside the folder, to %q", short(name), short(target))
	}
	return nil
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTranscriptRefused, fmt.Sprintf(format, args...))
}

// short keeps a hostile name from flooding the one-line error.
func short(s string) string {
	if len(s) > 120 {
		return s[:60] + "…" + s[len(s)-50:]
	}
	return s
}

// human renders a byte count for an error message.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
