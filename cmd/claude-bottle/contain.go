package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/launch"
)

// containFlags are launch's flags for how a bottle holds its agent.
type containFlags struct {
	network     string
	pidsLimit   int64
	memory      string
	cpus        float64
	writableGit bool
}

func (f *containFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.network, "network", "", "the bottle's network: none (no network of its own; HTTP(S) only through the bottle socket) or open (the engine's default network: the agent reaches whatever the engine reaches) (default none, or launch.network in config.toml)")
	fl.Int64Var(&f.pidsLimit, "pids-limit", 0, fmt.Sprintf("most processes and threads in the bottle, so a fork bomb stops there (default %d, or launch.pids_limit)", launch.DefaultLimits.Pids))
	fl.StringVar(&f.memory, "memory", "", fmt.Sprintf("most memory the bottle may use, such as 4g or 512m; no swap on top (default %s, or launch.memory)", launch.FormatBytes(launch.DefaultLimits.Memory)))
	fl.Float64Var(&f.cpus, "cpus", 0, "most CPU cores the bottle may use, such as 1.5 (default all of them, or launch.cpus)")
	fl.BoolVar(&f.writableGit, "writable-git", false, "DANGEROUS: leave the cwd's .git/config and .git/hooks writable in the bottle; an agent could plant hooks or core.fsmonitor that your next git command runs on the host")
}

// containment turns the flags over config.toml into how the bottle holds
// its agent, and refuses a working folder that would put the host in its
// reach (one line, exit 2) before anything is built.
func (a *app) containment(cmd *cobra.Command, s config.Settings, p *bottle.Plan, f *containFlags) (launch.Containment, error) {
	var c launch.Containment
	if cmd.Flags().Changed("network") {
		n, err := launch.ParseNetwork(f.network)
		if err != nil {
			return c, usageErr(fmt.Errorf("--%v", err))
		}
		p.Network = string(n)
	}
	c.Network = launch.Network(p.Network)
	c.Limits = launch.Limits{Pids: s.Limits.Pids, Memory: s.Limits.Memory, CPUs: s.Limits.CPUs}
	if cmd.Flags().Changed("pids-limit") {
		c.Limits.Pids = f.pidsLimit
	}
	if cmd.Flags().Changed("memory") {
		n, err := config.ParseMemory(f.memory)
		if err != nil {
			return c, usageErr(fmt.Errorf("--%v", err))
		}
		c.Limits.Memory = n
	}
	if cmd.Flags().Changed("cpus") {
		c.Limits.CPUs = f.cpus
	}
	if err := c.Limits.Check(); err != nil {
		return c, usageErr(err)
	}
	c.WritableGit = f.writableGit
	root, err := a.home()
	if err != nil {
		return c, err
	}
	if err := launch.CheckCwd(p.Cwd, launch.DefaultCwdRules(root, s.DriverConfig.DockerHost, c.WritableGit)); err != nil {
		return c, err
	}
	if _, err := launch.InitBinary(""); err != nil {
		return c, err
	}
	return c, nil
}

// warnContainment says on stderr what the user gave up.
func (a *app) warnContainment(c launch.Containment) {
	if c.Network == launch.NetworkOpen {
		fmt.Fprintln(a.io.err, "claude-bottle: warning: network open: the bottle has the engine's default network; the agent can reach the internet, the cloud metadata address and services on the engine's bridge, past any egress allowlist")
	}
	if c.WritableGit {
		fmt.Fprintln(a.io.err, "claude-bottle: warning: --writable-git: the agent can change the cwd's .git/config and .git/hooks, which your next git command there runs on the host")
	}
}
