package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Helpers every command uses to write its output: --format, JSON, and the
// small conversions of values to text.

// badFormat is the error of a --format other than text or json.
func badFormat(format string) error {
	return usageErr(fmt.Errorf("--format %q: want text or json", format))
}

// writeJSON writes v as indented JSON, the --format json of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// oneLine folds s, a message that may span lines, into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// dash renders an empty value as "-" in a table.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// firstNonEmpty returns the first of vs that is not empty.
func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// humanBytes renders a size in bytes as people read it: 512 B, 1.5 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
