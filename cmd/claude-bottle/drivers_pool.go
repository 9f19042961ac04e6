package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/pool"
)

// memberView is one member of a BuildKit pool as `drivers` prints it.
type memberView struct {
	Addr    string `json:"addr"`
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// poolView fills the buildkit driver's view from the pool of s, when
// there is one: its endpoint, its health, and each member's.
func (a *app) poolView(ctx context.Context, s config.Settings, views []driverView) error {
	if len(s.Pool) == 0 {
		return nil
	}
	src, err := a.drivers(s)
	if err != nil {
		return err
	}
	defer src.Close()
	b, err := src.Open(ctx, poolDriver)
	if err != nil {
		return err
	}
	p := b.(*pool.Pool)
	down := p.Health(ctx)
	for i := range views {
		v := &views[i]
		if v.Name != poolDriver || !v.BuiltIn {
			continue
		}
		if info, err := p.Info(ctx); err == nil {
			v.Features, v.Notes = featureList(info), info.Notes
		}
		v.Endpoint = p.Endpoint()
		v.CheckError = ""
		if err := p.Check(ctx); err != nil {
			v.CheckError = err.Error()
		}
		v.Ready = v.Error == "" && v.CheckError == ""
		for _, m := range p.Members() {
			mv := memberView{Addr: m, Healthy: down[m] == nil}
			if down[m] != nil {
				mv.Error = down[m].Error()
			}
			v.Pool = append(v.Pool, mv)
		}
	}
	return nil
}

// writePool prints the pool's members under the drivers table.
func writePool(w io.Writer, views []driverView) {
	for _, v := range views {
		if len(v.Pool) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s pool (each build goes to one member by rendezvous hashing on its base Dockerfile; a full or down member passes it to the next):\n", v.Name)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "MEMBER\tSTATUS")
		for _, m := range v.Pool {
			st := "healthy"
			if !m.Healthy {
				st = "down: " + oneLine(m.Error)
			}
			fmt.Fprintf(tw, "%s\t%s\n", m.Addr, st)
		}
		tw.Flush()
	}
}
