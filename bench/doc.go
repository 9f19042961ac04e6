// Package bench measures claude-bottle's builds side by side with the tools
// its users would otherwise run on the same Dockerfile and context: buildctl
// on the same standalone buildkitd (with and without `docker load`), the
// Docker engine's BuildKit and legacy builder through `docker build`, and
// `docker buildx build`.
//
// It prepares the real parts itself (a standalone buildkitd, a registry on
// 127.0.0.1, the workloads), runs each case's contenders alternately, and
// reports min / median / max and the ratio of ours to a peer's median, with
// the project's performance targets checked against them. bench/run (and
// `make bench`) is the entry point; bench/README.md holds the latest figures.
//
// Times are figures, never pass/fail: a run fails only when a build fails.
package bench
