package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
)

// The preflight that plan and launch share: a bottle's plan with the
// driver that would build it, and the summary that shows it at a glance.

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
	fmt.Fprintf(tw, "network\t%s\n", launch.Network(p.Network).Describe())
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

// planWith resolves the plan and chooses the driver from src.
func (a *app) planWith(ctx context.Context, src driverSource, slug string, s config.Settings, cwd string) (*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	p, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: s.Repo, RepoFrom: s.RepoFrom, Cwd: cwd})
	if err != nil {
		return nil, err
	}
	p.Driver, p.DriverReason, err = a.chooseDriver(ctx, src, s)
	setNetwork(p, s)
	return p, err
}

// setNetwork records the bottle's network from the settings: none unless
// the config says otherwise (launch's --network overrides it later).
func setNetwork(p *bottle.Plan, s config.Settings) {
	p.Network = string(launch.NetworkNone)
	if s.Network != "" {
		p.Network = s.Network // checked by config.Load
	}
}
