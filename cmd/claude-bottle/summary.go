package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/claude-bottle/claude-bottle/capability"
)

// writeSummary prints the preflight summary: at a glance, which Dockerfile
// and which image the bottle runs on, whether it is rebuilt, with which
// capabilities, and whether its override is stale.
func writeSummary(w io.Writer, v *capability.PlanView) {
	p := v.Plan
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	kind := "repo Dockerfile"
	if p.Rebuilt {
		kind = "REBUILT from this bottle's own Dockerfile"
	}
	fmt.Fprintf(tw, "bottle\t%s\n", p.Slug)
	fmt.Fprintf(tw, "image\t%s  (%s)\n", p.Image, kind)
	fmt.Fprintf(tw, "dockerfile\t%s\n", p.Dockerfile)
	if len(v.Capabilities) > 0 {
		fmt.Fprintf(tw, "capabilities\t%s\n", capabilityNames(v.Capabilities))
	}
	if v.Hint != "" {
		fmt.Fprintf(tw, "override\t%s\n", v.Hint)
	}
	fmt.Fprintf(tw, "context\t%s  (repo from %s)\n", p.Context, p.RepoFrom)
	driver := p.Driver
	if p.DriverReason != "" {
		driver += "  (" + p.DriverReason + ")"
	}
	fmt.Fprintf(tw, "driver\t%s\n", driver)
	if p.Cwd != "" {
		fmt.Fprintf(tw, "cwd\t%s\n", p.Cwd)
		fmt.Fprintf(tw, "derived image\t%s\n", p.DerivedImage)
	}
	if p.Transcript != nil {
		fmt.Fprintf(tw, "transcript\tsnapshot of %s (%d files, %s)\n", p.Transcript.Taken.Local().Format(time.DateTime), p.Transcript.Files, humanBytes(p.Transcript.Bytes))
	} else {
		fmt.Fprintf(tw, "transcript\tnone yet\n")
	}
	tw.Flush()
}

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
