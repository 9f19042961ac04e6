package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/moby/buildkit/util/progress/progressui"

	"github.com/claude-bottle/claude-bottle/batch"
	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/config"
	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/internal/atomicfile"
)

// What build prints once the builds are over: the table of every bottle,
// the Dockerfile lines of the first failure, the metadata file.

// plans resolves the plan of each named bottle, or of every bottle with
// state; slugs named twice are planned once. cwd, when not empty, plans
// the image layered for that folder too.
func (a *app) plans(slugs []string, all bool, s config.Settings, cwd string) ([]*bottle.Plan, error) {
	store, err := a.store()
	if err != nil {
		return nil, err
	}
	if all {
		if slugs, err = store.List(); err != nil {
			return nil, err
		}
		if len(slugs) == 0 {
			return nil, usageErr(fmt.Errorf("--all: no bottle has state in %s yet; name bottles to build", store.StateDir()))
		}
	}
	seen := map[string]bool{}
	var plans []*bottle.Plan
	for _, slug := range slugs {
		if seen[slug] {
			continue
		}
		seen[slug] = true
		p, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: s.Repo, RepoFrom: s.RepoFrom, Cwd: cwd})
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// noteNoState says on stderr which bottles have no state, so build the
// repo's Dockerfile: a mistyped slug must not build silently. It is said
// once the command is accepted, so that a refusal stays one line.
func (a *app) noteNoState(plans []*bottle.Plan) {
	for _, p := range plans {
		if ok, err := p.State.Exists(); err == nil && !ok {
			fmt.Fprintf(a.io.err, "bottle %s: no state: building the repo's Dockerfile (%s); see `claude-bottle state list`\n", p.Slug, p.Dockerfile)
		}
	}
}

// writeMetadata writes outcomes keyed by slug, atomically: the same shape
// as `docker buildx bake --metadata-file`, one entry a bottle.
func writeMetadata(path string, outs []batch.Outcome) error {
	m := make(map[string]batch.Outcome, len(outs))
	for _, o := range outs {
		m[o.Slug] = o
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("--metadata-file: %w", err)
	}
	return nil
}

// reportBuild prints the outcome: in quiet mode the image ID of each bottle
// built (as buildx prints one), else a table of every bottle on stdout. A
// failure adds the Dockerfile lines of the first failed step on stderr and
// makes the command fail with exit code 1.
func (a *app) reportBuild(r *buildRun, outs []batch.Outcome) error {
	if r.mode == progressui.QuietMode {
		for _, o := range outs {
			if o.OK() {
				fmt.Fprintln(a.io.out, o.ImageID)
			}
		}
	} else {
		writeBuildTable(a.io.out, outs)
	}
	if r.chatty() {
		writeBuilders(a.io.err, outs)
	}
	failed := batch.Failed(outs)
	if len(failed) == 0 {
		return nil
	}
	first := failed[0]
	if r.mode != progressui.RawJSONMode {
		a.printExcerpt(first)
	}
	err := fmt.Errorf("bottle %s: %s", first.Slug, first.ErrorLine())
	if len(outs) > 1 {
		err = fmt.Errorf("%d of %d bottles failed to build (see the table); the first, %s: %s", len(failed), len(outs), first.Slug, first.ErrorLine())
	}
	// A bottle that failed is never bad usage, whatever its error's class:
	// the command itself was accepted and builds ran (exit 1).
	return &exitCodeError{code: exitFailure, err: err}
}

// writeBuildTable prints one row a bottle, built or not, errors whole.
func writeBuildTable(w interface{ Write([]byte) (int, error) }, outs []batch.Outcome) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BOTTLE\tSTATUS\tIMAGE\tID\tSTEPS CACHED\tTIME\tPUSHED / ERROR")
	for _, o := range outs {
		steps := "-" // nothing ran: failed, skipped or up to date
		if o.OK() && o.Status != batch.StatusUpToDate {
			steps = fmt.Sprintf("%d/%d", o.Steps.Cached, o.Steps.Total)
		}
		last := strings.Join(o.Pushed, ",")
		if !o.OK() {
			last = o.ErrorLine()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1fs\t%s\n", o.Slug, o.Status, dash(o.Tag), dash(shortID(o.ImageID)), steps, o.Duration, dash(last))
	}
	tw.Flush()
}

// writeBuilders says, for a batch on a builder pool, which member built
// each bottle and why, and which builds were retried after their member
// died.
func writeBuilders(w interface{ Write([]byte) (int, error) }, outs []batch.Outcome) {
	for _, o := range outs {
		if o.Builder == "" || o.SharedWith != "" {
			continue
		}
		fmt.Fprintf(w, "bottle %s: builder %s (%s)\n", o.Slug, o.Builder, o.BuilderReason)
		if o.FailedOver != "" {
			fmt.Fprintf(w, "bottle %s: failover: %s died mid-build and the build was retried once on %s: %s\n", o.Slug, o.FailedOver, o.Builder, strings.Join(strings.Fields(o.FailoverError), " "))
		}
	}
}

// printExcerpt shows the Dockerfile lines around a failed step, as buildx
// does ("Dockerfile:4" and the lines around it).
func (a *app) printExcerpt(o batch.Outcome) {
	at := o.ErrorAt
	if at == nil {
		return
	}
	data, err := os.ReadFile(at.Dockerfile)
	if err != nil {
		return
	}
	ex := dockerfile.Excerpt(data, at.Line, at.EndLine, 2)
	if ex == "" {
		return
	}
	fmt.Fprintf(a.io.err, "bottle %s: %s:%d: %s\n%s", o.Slug, at.Dockerfile, at.Line, at.Step, ex)
}

func shortID(id string) string {
	const prefix = "sha256:"
	if len(id) > len(prefix)+12 && id[:len(prefix)] == prefix {
		return id[len(prefix) : len(prefix)+12]
	}
	return id
}
