package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// The swap case (issue 14): how long from `claude-bottle request approve`
// to the agent running again on the new image, beside the capability
// layer's own build (`capability add` of the same layer on a bottle that
// does not run). The difference is what the swap costs: noticing the
// approval, the grace for the agent's pending call, stopping the old
// container with its transcript snapshot, and starting the new one with
// the transcript restored. Target: at most maxSwapExtra more.

const (
	toolSwap   = "approve -> agent resumed (launch swaps)"
	toolCapAdd = "capability add (the layer's build alone)"
	swapSlug   = "bench-swap"
	// maxSwapExtra is the swap's allowance over the layer's build.
	maxSwapExtra = 2 * time.Second
)

// swapDockerfile is the offline example's: the agent's HOME with its
// Claude Code folder, so the swap snapshots and restores a transcript.
const swapDockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /home/node/.claude /tmp && chmod 1777 /tmp
ENV HOME=/home/node
WORKDIR /home/node
`

// swapAgent asks for a capability that writes the run's nonce, then waits
// to be swapped; run again on the new image, it writes "resumed" and
// exits.
const swapAgent = `cd "$(dirname "$0")"
if [ -f /etc/bench-cap ]; then cp /etc/bench-cap resumed; exit 0; fi
echo session > "$HOME/.claude/session"
/opt/claude-bottle/bin/claude-bottle request capability cap --run "echo $(cat nonce) > /etc/bench-cap" --reason bench --wait 5m > asked 2>&1
sleep 600
`

// swapCase times both, alternately, each on a fresh state root so that
// every run builds the bottle's first capability layer.
func (e *Env) swapCase() *benchCase {
	return &benchCase{name: "swap/approve-resume", prep: noop, contenders: []*contender{
		{tool: toolSwap, ours: true, vs: toolCapAdd, run: timedJob(e.approveToResumed)},
		{tool: toolCapAdd, ours: true, run: timedJob(e.capabilityAlone)},
	}}
}

// swapRun is one run's state root, repo and agent folder.
type swapRun struct {
	home, repo, cwd, nonce string
}

// newSwapRun makes a fresh state root whose bottle has the swap
// Dockerfile as its own (so its image is the bench's, not the shared
// claude-bottle:latest).
func (e *Env) newSwapRun(ctx context.Context) (*swapRun, error) {
	dir, err := os.MkdirTemp(e.work, "swap-")
	if err != nil {
		return nil, err
	}
	r := &swapRun{home: filepath.Join(dir, "home"), repo: filepath.Join(dir, "repo"), cwd: filepath.Join(dir, "agent"), nonce: nonce()}
	if _, err := newWorkload("swap", r.repo, "app", swapDockerfile, busybox, nil); err != nil {
		return nil, err
	}
	for _, f := range []struct{ path, text string }{
		{filepath.Join(r.cwd, "agent.sh"), swapAgent},
		{filepath.Join(r.cwd, "nonce"), r.nonce + "\n"},
	} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
			return nil, err
		}
	}
	df := filepath.Join(dir, "override")
	if err := os.WriteFile(df, []byte(swapDockerfile), 0o644); err != nil {
		return nil, err
	}
	if _, err := e.cbCmd(r.home, "state", "set-dockerfile", swapSlug, df).output(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// driverArgs are the build flags of every command of the case: the bench
// buildkitd, loading into the engine.
func (e *Env) driverArgs(r *swapRun) []string {
	return []string{"--repo", r.repo, "--driver", "buildkit", "--buildkit-addr", e.bk.Addr, "--progress", "quiet"}
}

// capabilityAlone times `capability add` of the run's layer on a bottle
// built beforehand (untimed).
func (e *Env) capabilityAlone(ctx context.Context) (time.Duration, error) {
	r, err := e.newSwapRun(ctx)
	if err != nil {
		return 0, err
	}
	if err := e.cbCmd(r.home, append([]string{"build", swapSlug}, e.driverArgs(r)...)...).run(ctx, nil); err != nil {
		return 0, err
	}
	add := append([]string{"capability", "add", swapSlug, "cap", "--run", "echo " + r.nonce + " > /etc/bench-cap", "--reason", "bench"}, e.driverArgs(r)...)
	start := time.Now()
	err = e.cbCmd(r.home, add...).run(ctx, nil)
	return time.Since(start), err
}

// approveToResumed launches the agent (untimed), waits for its request,
// then times `request approve` until the agent, run again by the resume
// command on the new image, has written its marker.
func (e *Env) approveToResumed(ctx context.Context) (time.Duration, error) {
	r, err := e.newSwapRun(ctx)
	if err != nil {
		return 0, err
	}
	launch := e.cbCmd(r.home, append(append([]string{"launch", swapSlug, "--cwd", r.cwd}, e.driverArgs(r)...),
		"--resume-command", "sh agent.sh", "--", "sh", "agent.sh")...).cmd(ctx)
	var out tailBuffer
	launch.Stdout, launch.Stderr = &out, &out
	if err := launch.Start(); err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- launch.Wait() }()
	defer e.endLaunch(launch, exited)
	id, err := waitRequest(ctx, r.home, exited)
	if err != nil {
		return 0, fmt.Errorf("%w\n%s", err, out.String())
	}
	start := time.Now()
	if err := e.cbCmd(r.home, append([]string{"request", "approve", id}, e.driverArgs(r)...)...).run(ctx, nil); err != nil {
		return 0, err
	}
	if err := waitFile(ctx, filepath.Join(r.cwd, "resumed"), exited); err != nil {
		return 0, fmt.Errorf("the agent did not resume: %w\n%s", err, out.String())
	}
	return time.Since(start), nil
}

// waitRequest waits for the bottle's first request and returns its ID.
func waitRequest(ctx context.Context, home string, exited <-chan error) (string, error) {
	st, err := state.Open(home)
	if err != nil {
		return "", err
	}
	rs := request.NewStore(st)
	return poll(ctx, 2*time.Minute, exited, func() (string, bool) {
		if reqs, _ := rs.List(swapSlug); len(reqs) > 0 {
			return reqs[0].ID, true
		}
		return "", false
	})
}

// waitFile waits for path to exist.
func waitFile(ctx context.Context, path string, exited <-chan error) error {
	_, err := poll(ctx, 2*time.Minute, exited, func() (string, bool) {
		_, err := os.Stat(path)
		return "", err == nil
	})
	return err
}

// poll calls f every 10 ms until it is done, the launch exits, or limit
// passes.
func poll(ctx context.Context, limit time.Duration, exited <-chan error, f func() (string, bool)) (string, error) {
	deadline := time.After(limit)
	for {
		if v, ok := f(); ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-deadline:
			return "", fmt.Errorf("nothing after %s", limit)
		case err := <-exited:
			if v, ok := f(); ok {
				return v, nil
			}
			return "", fmt.Errorf("launch exited first: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// endLaunch waits for the launch to end after its agent did, else stops
// it, and removes the bottle's container and images either way.
func (e *Env) endLaunch(launch *exec.Cmd, exited <-chan error) {
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		launch.Cancel()
		<-exited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exec.CommandContext(ctx, dockerOld, "rm", "-f", bottle.ContainerName(swapSlug)).Run()
}

func nonce() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// swapCheck: approve -> resumed takes at most maxSwapExtra more than the
// layer's build alone.
func (r *Report) swapCheck() {
	c := "swap/approve-resume"
	a, b, why := r.pair(c, toolSwap, toolCapAdd)
	if why == "case not run" {
		return
	}
	target := fmt.Sprintf("%s: %s takes <= %s more than %s", c, toolSwap, maxSwapExtra, toolCapAdd)
	if why != "" {
		r.Checks = append(r.Checks, Check{Target: target, Measured: why, Skipped: true})
		return
	}
	extra := a.Stats.Median - b.Stats.Median
	r.Checks = append(r.Checks, Check{Target: target, Met: extra <= maxSwapExtra,
		Measured: fmt.Sprintf("%+.2f s (%.2fx: %.3f s / %.3f s)", extra.Seconds(), Ratio(a.Stats, b.Stats), a.Stats.Median.Seconds(), b.Stats.Median.Seconds())})
}
