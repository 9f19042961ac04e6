package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
	"github.com/claude-bottle/claude-bottle/launch"
	"github.com/claude-bottle/claude-bottle/state"
)

// TestLaunchLibrary runs the launch sequence as the library call that the
// CLI, the supervisor and the dashboard share, without the CLI: Launch
// builds an override with the buildkit driver on the engine, layers the
// cwd image, runs the bottle and snapshots its transcript; then the two
// halves, Prepare without a build and Run with Resume, bring the
// transcript back.
func TestLaunchLibrary(t *testing.T) {
	testenv.RequireDocker(t)
	repo, cwd := e2eRepo(t), t.TempDir()
	os.WriteFile(filepath.Join(cwd, "project.txt"), []byte("hello-library"), 0o644)
	store, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	slug := "e2e-library"
	b, err := store.Bottle(slug)
	if err != nil {
		t.Fatal(err)
	}
	if err := bottle.SetOverride(b, []byte(testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\nRUN echo from-library > /etc/which\n")); err != nil {
		t.Fatal(err)
	}
	plan, err := bottle.Resolve(store, bottle.Options{Slug: slug, Repo: repo, RepoFrom: "test", Cwd: cwd, Driver: "buildkit"})
	if err != nil {
		t.Fatal(err)
	}
	testenv.RemoveImages(t, plan.Image, plan.DerivedImage)
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", bottle.ContainerName(slug)) })
	engine, err := launch.Connect("")
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	rec := &recorder{}
	var out, errOut bytes.Buffer
	po := launch.PrepareOptions{Plan: plan, Builder: bkBuilder(t, driver.Config{}), Sink: rec, Engine: engine}
	ro := launch.RunOptions{
		Cmd:           []string{"sh", "-c", "cat /etc/which project.txt; pwd; echo kept > /home/node/.claude/history.jsonl; exit 3"},
		TranscriptDir: "/home/node/.claude", Stdout: &out, Stderr: &errOut,
		// This test binary is not static (nor claude-bottle): the bottle's
		// PID 1 is the CLI's binary, built static.
		Containment: launch.Containment{Binary: testenv.ClaudeBottle(t)},
	}
	res, err := launch.Launch(ctx, po, ro)
	if err != nil {
		t.Fatalf("Launch: %v\nstderr: %s", err, errOut.String())
	}
	if res.ExitCode != 3 || res.Snapshot == nil || res.SnapshotErr != nil {
		t.Fatalf("outcome = %+v, want exit 3 and a snapshot", res)
	}
	for _, want := range []string{"from-library", "hello-library", cwd} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the bottle's output lacks %q:\n%s", want, out.String())
		}
	}
	if len(rec.vertexes()) == 0 {
		t.Error("the build sent no progress to the sink")
	}
	if label := testenv.Docker(t, "image", "inspect", "--format", `{{index .Config.Labels "`+bottle.CwdLabel+`"}}`, plan.DerivedImage); label != cwd {
		t.Errorf("derived image label = %q, want %q", label, cwd)
	}
	if _, err := testenv.DockerOut("container", "inspect", bottle.ContainerName(slug)); err == nil {
		t.Error("the stopped container was kept without Keep")
	}

	// The halves: no build this time (the image is there), then a resumed
	// run sees what the first run left in its transcript.
	prep, err := launch.Prepare(ctx, launch.PrepareOptions{Plan: plan, NoBuild: true, Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	if prep.Image != plan.DerivedImage || prep.Built != nil || prep.DerivedID == "" {
		t.Errorf("Prepared = %+v", prep)
	}
	out.Reset()
	ro.Cmd, ro.Resume = []string{"cat", "/home/node/.claude/history.jsonl"}, true
	res, err = prep.Run(ctx, ro)
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "kept" {
		t.Errorf("resumed run: %+v, %v, output %q", res, err, out.String())
	}
}
