// Package clirun is for drivers that wrap a build CLI (docker build,
// buildah bud, kaniko, ...): it runs the CLI so that a canceled build
// stops it (SIGTERM, then SIGKILL after a delay), splits its output into
// lines, keeps the last ones for the error message, and turns a CLI's
// step-by-step output into progress events (Steps). For BuildKit's
// --progress=plain output, see package plugins/sdk/plainprogress.
//
// A driver's Build typically reads:
//
//	steps := &clirun.Steps{Sink: sink}
//	tail := clirun.NewTail(20)
//	cmd := exec.Command("mytool", args...)
//	err := clirun.Run(ctx, cmd, clirun.Options{Line: func(stream int, line string) {
//		tail.Add(line)
//		if name, ok := strings.CutPrefix(line, "STEP "); ok {
//			steps.Start(name, name)
//			return
//		}
//		steps.Log(stream, line)
//	}})
//	if err != nil {
//		failed := steps.Fail(err.Error())
//		if ctx.Err() != nil {
//			return nil, driver.Canceled(ctx, err)
//		}
//		return nil, fmt.Errorf("%w: step %q failed: %v; last output:%s", driver.ErrBuildFailed, failed, err, tail)
//	}
//	steps.Complete()
package clirun
