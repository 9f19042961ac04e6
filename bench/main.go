package bench

import (
	"context"
	"debug/buildinfo"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Main runs the bench with command-line args and returns the exit code: 0
// when every build passed, 1 when one failed or the bench could not run,
// 2 for bad flags. Times never fail a run.
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
	}
	rep, err := run(ctx, o, logf)
	if rep != nil {
		rep.WriteMarkdown(stdout)
		if o.Out != "" {
			if werr := writeFile(o.Out, rep); werr != nil {
				logf("%v", werr)
				return 1
			}
		}
	}
	if err != nil {
		logf("%v", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("benchrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache, _ := os.UserCacheDir()
	o := Options{}
	fs.IntVar(&o.Runs, "runs", 5, "counted runs of each contender in each case")
	fs.IntVar(&o.Warmup, "warmup", 1, "uncounted warm-up runs before them")
	fs.StringVar(&o.Cases, "cases", "", "regular expression: run only the cases whose name matches (e.g. '^small/' or 'noop')")
	fs.StringVar(&o.Out, "out", "", "also write the report as markdown to this file")
	quick := fs.Bool("quick", false, "smoke check: 2 counted runs (unless -runs is given)")
	fs.IntVar(&o.Jobs, "jobs", 2, "--jobs for the 16-bottle batch")
	fs.StringVar(&o.Repo, "repo", ".", "the claude-bottle repo root (its bin/ holds buildkitd, buildctl and claude-bottle)")
	fs.StringVar(&o.ClaudeBottle, "claude-bottle", "", "the claude-bottle binary to measure (default REPO/bin/claude-bottle)")
	fs.StringVar(&o.Cache, "cache", filepath.Join(cache, "claude-bottle", "bench"), "folder for the generated big workload, kept between runs")
	fs.BoolVar(&o.Buildx, "buildx", true, "include docker buildx peers when the plugin is cached")
	fs.Func("cb-env", "KEY=VALUE added to claude-bottle's environment only, to try a change on ours (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		o.CBEnv = append(o.CBEnv, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	runsSet := false
	fs.Visit(func(f *flag.Flag) { runsSet = runsSet || f.Name == "runs" })
	if *quick && !runsSet {
		o.Runs = 2
	}
	if o.Runs < 1 || o.Warmup < 0 || o.Jobs < 1 {
		fmt.Fprintln(stderr, "benchrun: -runs and -jobs must be 1 or more, -warmup 0 or more")
		return o, flag.ErrHelp
	}
	if _, err := regexp.Compile(o.Cases); err != nil {
		fmt.Fprintf(stderr, "benchrun: -cases %q: %v\n", o.Cases, err)
		return o, err
	}
	abs, err := filepath.Abs(o.Repo)
	if err != nil {
		return o, err
	}
	o.Repo = abs
	return o, nil
}

// run sets the parts up, runs the selected cases and evaluates the
// targets. The report is returned even when a case failed.
func run(ctx context.Context, o Options, logf func(string, ...any)) (*Report, error) {
	start := time.Now()
	load0 := loadAvg()
	e, err := setup(ctx, o, logf)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := e.Close(); err != nil {
			logf("cleaning up: %v", err)
		}
	}()
	filter := regexp.MustCompile(o.Cases)
	rep := &Report{}
	failed := 0
	for _, c := range e.cases() {
		if !filter.MatchString(c.name) || ctx.Err() != nil {
			continue
		}
		for _, res := range e.runCase(ctx, c, logf) {
			if res.Err != "" {
				failed++
			}
			rep.Results = append(rep.Results, res)
		}
	}
	rep.Evaluate(o.Jobs)
	rep.Header = e.header(start, load0)
	rep.Notes = append(rep.Notes, e.notes...)
	rep.Notes = append(rep.Notes, e.poolNotes()...)
	if e.buildxConfig == "" {
		rep.Notes = append(rep.Notes, "docker buildx peers skipped: "+e.buildxReason)
	}
	switch {
	case ctx.Err() != nil:
		return rep, fmt.Errorf("interrupted: %w", ctx.Err())
	case failed > 0:
		return rep, fmt.Errorf("%d contender(s) failed to build; see FAILED in the table", failed)
	}
	return rep, nil
}

// header describes the machine, the versions and the conditions.
func (e *Env) header(start time.Time, load0 string) []string {
	buildx := "not used: " + e.buildxReason
	if e.buildxConfig != "" {
		out, _ := command{name: dockerNew, args: []string{"buildx", "version"}, env: []string{"DOCKER_CONFIG=" + e.buildxConfig}}.output(context.Background())
		buildx = out + " (with the " + version(dockerNew, "version", "--format", "{{.Client.Version}}") + " client)"
	}
	h := []string{
		fmt.Sprintf("date: %s, %s in all", start.UTC().Format("2006-01-02 15:04 UTC"), time.Since(start).Round(time.Second)),
		fmt.Sprintf("machine: %s, %d cores, %s RAM, kernel %s", cpuModel(), runtime.NumCPU(), memTotal(), version("uname", "-r")),
		fmt.Sprintf("load average (1, 5, 15 min) before: %s, after: %s", load0, loadAvg()),
		fmt.Sprintf("claude-bottle: %s at commit %s", e.cb, gitRev(e.opts.Repo)),
		fmt.Sprintf("BuildKit: buildkitd and buildctl %s (standalone, OCI worker, runc %s)", moduleVersion(e.buildkitd, "github.com/moby/buildkit"), strings.TrimPrefix(version(runcBin, "--version"), "runc version ")),
		fmt.Sprintf("Docker: engine %s; %s; buildx: %s", version(dockerOld, "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"), version(dockerOld, "--version"), buildx),
		fmt.Sprintf("runs: %d counted after %d warm-up per contender, contenders alternating (A B A B ...); bottles built with --jobs %d", e.opts.Runs, e.opts.Warmup, e.opts.Jobs),
	}
	if len(e.opts.CBEnv) > 0 {
		h = append(h, fmt.Sprintf("claude-bottle ran with %s added to its environment", strings.Join(e.opts.CBEnv, " ")))
	}
	return h
}

// moduleVersion is the version of module path built into binary bin.
func moduleVersion(bin, path string) string {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "unknown"
	}
	if bi.Main.Path == path && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	for _, m := range bi.Deps {
		if m.Path == path {
			return m.Version
		}
	}
	return "unknown"
}

func gitRev(repo string) string {
	rev := version("git", "-C", repo, "rev-parse", "--short", "HEAD")
	if out, err := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		rev += " (with uncommitted changes in the tree)"
	}
	return rev
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(rest, &kb)
			return fmt.Sprintf("%.0f GB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func writeFile(path string, rep *Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("-out %q: %w", path, err)
	}
	if err := rep.WriteMarkdown(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
