package launch

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/inbottle"
)

// A bottle is hardened by default: the engine starts claude-bottle's own
// binary as PID 1, as root with only InitCapabilities and
// no-new-privileges; PID 1 starts the agent as the host user with no
// capability at all (package inbottle). The container has a pids, memory
// and CPU limit, no network of its own unless asked, and claude-bottle's
// own mounts (its binary, the socket folder, the managed configuration)
// are read-only. No Docker socket is ever mounted.

// InitCapabilities are the only capabilities the container gets, and only
// PID 1 uses them: CHOWN and FOWNER to give the agent its HOME,
// DAC_OVERRIDE to reach the socket and files of another user, SETUID and
// SETGID to become the host user, SETPCAP to empty the agent's bounding
// set. The agent itself has none.
var InitCapabilities = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID", "SETPCAP"}

// Containment is how a run holds its agent, beyond the image and the
// command: the Spec and RunOptions field that carries it. Its zero value
// is the hardened default.
type Containment struct {
	// Network is the bottle's network; "" is NetworkNone.
	Network Network
	// Limits bound the bottle's processes, memory and CPU; zero fields
	// take DefaultLimits.
	Limits Limits
	// WritableGit leaves the cwd's .git/config and .git/hooks writable in
	// the bottle. Dangerous: an agent could plant hooks or core.fsmonitor
	// that the user's next git command runs on the host.
	WritableGit bool
	// Binary is the host path of the claude-bottle binary that is the
	// bottle's PID 1 (static, see InitBinary); "" is this process's own.
	Binary string
	// RunDir is the host folder mounted read-only at bottleapi.SocketDir,
	// where the supervisor serves the bottle socket; "" makes a private
	// empty folder for the run, removed after it.
	RunDir string
	// ManagedDir is the host folder mounted read-only at
	// bottleapi.ManagedDir (Claude Code's managed configuration); "" mounts
	// one made for the run in the private run folder, with
	// inbottle.ManagedFiles in it.
	ManagedDir string
	// UID and GID are the host user the agent runs as, UserName their
	// name: whatever user the image declares, what the agent writes in the
	// cwd is theirs. Sequence and Prepared.Run set them to this process's
	// user; a Spec given to Run directly says them itself.
	UID, GID int
	UserName string
}

// Network is a bottle's network.
type Network string

// Networks a bottle can have.
const (
	// NetworkNone gives the bottle no network of its own: only its
	// loopback, where PID 1's forwarder relays to the bottle socket.
	NetworkNone Network = "none"
	// NetworkOpen gives the bottle the engine's default network: the agent
	// can reach anything the engine's bridge reaches.
	NetworkOpen Network = "open"
)

// ParseNetwork reads a --network value; "" is NetworkNone.
func ParseNetwork(s string) (Network, error) {
	switch Network(s) {
	case "", NetworkNone:
		return NetworkNone, nil
	case NetworkOpen:
		return NetworkOpen, nil
	}
	return "", fmt.Errorf("network %q: want none (the default: no network, only the bottle socket) or open (the engine's default network)", s)
}

// Describe says in a few words what the network gives the agent, for the
// preflight summary.
func (n Network) Describe() string {
	if n == NetworkOpen {
		return "open  (the engine's default network: the agent reaches whatever it reaches)"
	}
	return "none  (no network of its own; HTTP(S) through the bottle socket only)"
}

// Limits bound what a bottle may use of the host. A zero field takes its
// default (DefaultLimits).
type Limits struct {
	// Pids bounds the processes and threads in the bottle, so that a fork
	// bomb stops there.
	Pids int64
	// Memory bounds the bottle's memory, in bytes; swap is not added on
	// top.
	Memory int64
	// CPUs bounds the bottle's CPU time, in cores; zero means all of the
	// engine's cores.
	CPUs float64
}

// DefaultLimits are a bottle's limits unless the flags or config.toml say
// otherwise: enough for an agent building a large project, not enough to
// take a host down.
var DefaultLimits = Limits{Pids: 1024, Memory: 4 << 30}

// withDefaults fills the zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	if l.Pids == 0 {
		l.Pids = DefaultLimits.Pids
	}
	if l.Memory == 0 {
		l.Memory = DefaultLimits.Memory
	}
	return l
}

// Check refuses limits the engine would refuse or that make no sense.
func (l Limits) Check() error {
	switch {
	case l.Pids < 0:
		return fmt.Errorf("pids limit %d: want a positive number of processes", l.Pids)
	case l.Pids > 0 && l.Pids < 16:
		return fmt.Errorf("pids limit %d: too few for an agent to run its tools; want 16 or more", l.Pids)
	case l.Memory < 0 || (l.Memory > 0 && l.Memory < 16<<20):
		return fmt.Errorf("memory limit %d bytes: want 16m or more", l.Memory)
	case l.CPUs < 0 || math.IsNaN(l.CPUs) || math.IsInf(l.CPUs, 0):
		return fmt.Errorf("cpus %v: want a positive number of cores (0 means all)", l.CPUs)
	case l.CPUs > float64(runtime.NumCPU()):
		return fmt.Errorf("cpus %v: this machine has %d", l.CPUs, runtime.NumCPU())
	}
	return nil
}

// imageDefaults is what an image says about how it runs; PID 1 replaces
// its ENTRYPOINT, so launch passes them on.
type imageDefaults struct {
	Entrypoint, Cmd []string
	// User is the image's USER, Home its HOME variable; either may be "".
	User, Home string
}

// unknownImage stands for an image that was not inspected (a dry run):
// the rendering says where each value will come from.
var unknownImage = imageDefaults{
	Entrypoint: []string{"{ENTRYPOINT of the image}"}, Cmd: []string{"{CMD of the image}"},
	User: "{USER of the image}", Home: "{HOME of the image}",
}

// hostPaths are the host files and folders a run mounts besides the cwd.
type hostPaths struct {
	// Binary is the static claude-bottle binary, PID 1.
	Binary string
	// RunDir holds the bottle socket; ManagedDir Claude Code's managed
	// configuration.
	RunDir, ManagedDir string
}

// agentArgv is the agent's command line: the image's ENTRYPOINT followed
// by the command given after -- or else the image's CMD, as `docker run
// IMAGE COMMAND` would run it.
func agentArgv(img imageDefaults, cmd []string, image string) ([]string, error) {
	rest := img.Cmd
	if len(cmd) > 0 {
		rest = cmd
	}
	argv := append(append([]string{}, img.Entrypoint...), rest...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("image %s has no ENTRYPOINT or CMD: give the agent's command after --", image)
	}
	return argv, nil
}

// initOptions are PID 1's orders for the run s of an image like img.
func initOptions(s Spec, img imageDefaults, argv []string) inbottle.InitOptions {
	return inbottle.InitOptions{
		UID: s.UID, GID: s.GID, UserName: s.UserName,
		ImageUser: img.User, ImageHome: img.Home,
		Proxy: s.Network != NetworkOpen,
		Argv:  argv,
	}
}

// containerConfig is the hardened container of run s: the engine's config
// and host config, decided from the spec, the host paths and the image.
func containerConfig(s Spec, hp hostPaths, img imageDefaults) (*container.Config, *container.HostConfig, error) {
	argv, err := agentArgv(img, s.Cmd, s.Image)
	if err != nil {
		return nil, nil, err
	}
	cfg := &container.Config{
		Image:        s.Image,
		User:         "0:0",
		Entrypoint:   []string{bottleapi.BinaryPath},
		Cmd:          initOptions(s, img, argv).Args(),
		Env:          append(append([]string{}, s.Env...), bottleapi.SocketEnv+"="+bottleapi.DefaultSocket),
		Tty:          s.TTY,
		AttachStdout: true, AttachStderr: true,
		Labels: map[string]string{bottle.SlugLabel: s.Slug},
	}
	if s.Stdin != nil {
		cfg.AttachStdin, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	}
	if s.Cwd != "" {
		// The label is the derived image's too; on the container it holds
		// when the bottle runs its plain image (after a swap).
		cfg.WorkingDir, cfg.Labels[bottle.CwdLabel] = s.Cwd, s.Cwd
	}
	l := s.Limits.withDefaults()
	host := &container.HostConfig{
		CapDrop:     []string{"ALL"},
		CapAdd:      append([]string{}, InitCapabilities...),
		SecurityOpt: []string{"no-new-privileges"},
		Resources: container.Resources{
			PidsLimit: &l.Pids, Memory: l.Memory, MemorySwap: l.Memory,
			NanoCPUs: int64(math.Round(l.CPUs * 1e9)),
		},
		Mounts: mounts(s, hp),
	}
	if s.Network != NetworkOpen {
		host.NetworkMode = container.NetworkMode(NetworkNone)
	}
	return cfg, host, nil
}

// mounts are the run's bind mounts: claude-bottle's own, read-only; the
// cwd at the same path, writable; and the cwd's git configuration and
// hooks read-only over it unless s.WritableGit.
func mounts(s Spec, hp hostPaths) []mount.Mount {
	ro := func(src, dst string) mount.Mount {
		return mount.Mount{Type: mount.TypeBind, Source: src, Target: dst, ReadOnly: true}
	}
	ms := []mount.Mount{
		ro(hp.Binary, bottleapi.BinaryPath),
		ro(hp.RunDir, bottleapi.SocketDir),
		ro(hp.ManagedDir, bottleapi.ManagedDir),
	}
	if s.Cwd == "" {
		return ms
	}
	ms = append(ms, mount.Mount{Type: mount.TypeBind, Source: s.Cwd, Target: s.Cwd})
	if !s.WritableGit {
		paths, _ := gitProtected(s.Cwd) // CheckCwd refuses what cannot be protected
		for _, p := range paths {
			ms = append(ms, ro(p, p))
		}
	}
	return ms
}

// dockerRunArgs renders a container config as the `docker run` command
// that makes the same container: the dry run prints it. Environment
// values are not shown, only names (ANTHROPIC_API_KEY must not reach a
// terminal or a log).
func dockerRunArgs(name string, keep bool, cfg *container.Config, host *container.HostConfig) []string {
	args := []string{"docker", "run", "--name", name}
	if !keep {
		args = append(args, "--rm")
	}
	if cfg.OpenStdin {
		args = append(args, "-i")
	}
	if cfg.Tty {
		args = append(args, "-t")
	}
	args = append(args, "--user", cfg.User)
	for _, c := range host.CapDrop {
		args = append(args, "--cap-drop", c)
	}
	for _, c := range host.CapAdd {
		args = append(args, "--cap-add", c)
	}
	for _, o := range host.SecurityOpt {
		args = append(args, "--security-opt", o)
	}
	if p := host.PidsLimit; p != nil {
		args = append(args, "--pids-limit", strconv.FormatInt(*p, 10))
	}
	if host.Memory > 0 {
		args = append(args, "--memory", FormatBytes(host.Memory), "--memory-swap", FormatBytes(host.MemorySwap))
	}
	if host.NanoCPUs > 0 {
		args = append(args, "--cpus", strconv.FormatFloat(float64(host.NanoCPUs)/1e9, 'f', -1, 64))
	}
	if host.NetworkMode != "" {
		args = append(args, "--network", string(host.NetworkMode))
	}
	for _, m := range host.Mounts {
		v := "type=bind,src=" + m.Source + ",dst=" + m.Target
		if m.ReadOnly {
			v += ",readonly"
		}
		args = append(args, "--mount", v)
	}
	if cfg.WorkingDir != "" {
		args = append(args, "-w", cfg.WorkingDir)
	}
	for _, kv := range cfg.Env {
		k, _, _ := strings.Cut(kv, "=")
		args = append(args, "-e", k)
	}
	args = append(args, "--entrypoint", strings.Join(cfg.Entrypoint, " "), cfg.Image)
	return append(args, cfg.Cmd...)
}

// FormatBytes writes a byte count as docker's flags take it: 4g, 512m,
// or plain bytes when it is not a whole number of either.
func FormatBytes(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// dryRunArgs is DockerRunEquivalent: the run's container config, rendered,
// with placeholders for what only a real run knows.
func dryRunArgs(s Spec) []string {
	hp := hostPaths{Binary: s.Binary, RunDir: s.RunDir, ManagedDir: s.ManagedDir}
	if hp.Binary == "" {
		hp.Binary = "{this claude-bottle binary}"
		if self, err := os.Executable(); err == nil {
			hp.Binary = self
		}
	}
	if hp.RunDir == "" {
		hp.RunDir = "{a private empty run folder}"
	}
	if hp.ManagedDir == "" {
		hp.ManagedDir = "{a private folder with the managed configuration}"
	}
	cfg, host, err := containerConfig(s, hp, unknownImage)
	if err != nil { // unknownImage always has a command
		return []string{"docker", "run", "# " + err.Error()}
	}
	return dockerRunArgs(bottle.ContainerName(s.Slug), s.Keep, cfg, host)
}
