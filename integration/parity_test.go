//go:build linux

package integration

import (
	"context"
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	_ "github.com/claude-bottle/claude-bottle/driver/buildkit" // registers "buildkit"
	"github.com/claude-bottle/claude-bottle/driver/dockercli"
	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// parityCases are the Dockerfiles both drivers must turn into the same
// files: FROM scratch with a static busybox, RUN, multi-stage builds with
// COPY --from, build args and a .dockerignore.
var parityCases = []struct {
	name       string
	dockerfile string
	files      map[string]string
	args       map[string]string
	absent     []string // files the image must not hold
}{
	{
		name: "scratch-run",
		dockerfile: testenv.BusyboxDockerfile + `RUN mkdir -p /opt/app/empty && echo data > /opt/app/file && chmod 0640 /opt/app/file \
 && ln -s /opt/app/file /opt/app/link && chmod 0700 /opt/app/empty
COPY src/ /src/
`,
		files: map[string]string{"src/a.txt": "a\n", "src/sub/b.txt": "b\n"},
	},
	{
		name: "multi-stage",
		dockerfile: `FROM scratch AS tools
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM tools AS gen
ARG GREETING=unset
ARG UNUSED=x
RUN echo "$GREETING" > /greeting && mkdir /out && echo "$GREETING" | wc -c > /out/len

FROM scratch
COPY --from=tools /bin/busybox /bin/busybox
COPY --from=gen /greeting /greeting
COPY --from=gen /out/ /out/
COPY . /ctx
`,
		files: map[string]string{
			".dockerignore": "secret.txt\nlogs/\n*.tmp\n",
			"secret.txt":    "no", "logs/x.log": "no", "a.tmp": "no", "keep/k.txt": "yes\n",
		},
		args:   map[string]string{"GREETING": "hello-parity"},
		absent: []string{"ctx/secret.txt", "ctx/logs/x.log", "ctx/a.tmp"},
	},
}

// TestDriverParity builds each case with the BuildKit driver (on the
// engine's BuildKit) and with the docker driver in every mode, and
// compares the files of the images: names, modes, owners, sizes and
// content hashes, not times.
func TestDriverParity(t *testing.T) {
	testenv.RequireDocker(t)
	f, err := driver.Lookup("buildkit")
	if err != nil {
		t.Fatalf("the buildkit driver is not registered: %v", err)
	}
	bk, err := f.New(context.Background(), driver.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := bk.(driver.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	for _, pc := range parityCases {
		t.Run(pc.name, func(t *testing.T) {
			dir := testenv.BusyboxContext(t, pc.files)
			state := t.TempDir()
			testenv.WriteFiles(t, state, map[string]string{"Dockerfile": pc.dockerfile})
			req := driver.Request{Dockerfile: filepath.Join(state, "Dockerfile"), ContextDir: dir, BuildArgs: pc.args}
			want, _ := parityFiles(t, bk, req, "buildkit")
			for _, name := range pc.absent {
				if _, ok := want[name]; ok {
					t.Errorf("the BuildKit driver's image holds %s, which .dockerignore excludes", name)
				}
			}
			for _, s := range dcSetups {
				t.Run(string(s.mode), func(t *testing.T) {
					got, tag := parityFiles(t, dcBuilder(t, s, driver.Config{}), req, "docker-"+string(s.mode))
					want := maps.Clone(want)
					if s.mode == dockercli.ModeLegacy && pc.files[".dockerignore"] != "" {
						parityLegacyIgnoreFile(t, tag, pc.files[".dockerignore"])
						delete(want, "ctx/.dockerignore")
						delete(got, "ctx/.dockerignore")
					}
					parityCompare(t, want, got)
				})
			}
		})
	}
}

// parityFiles builds req with b and returns the files of the image as
// `docker export` of a container made from it lists them, and its tag.
func parityFiles(t *testing.T, b driver.Builder, req driver.Request, who string) (map[string]string, string) {
	t.Helper()
	req.Tags = []string{dcTag(t, "parity-"+who)}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := b.Build(ctx, req, nil); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	cid := testenv.Docker(t, "create", req.Tags[0], "/bin/busybox", "true")
	defer testenv.DockerOut("rm", cid)
	cmd := exec.CommandContext(ctx, testenv.DockerCLI(), "export", cid)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files, terr := dcTarEntries(out)
	if err := cmd.Wait(); err != nil || terr != nil {
		t.Fatalf("docker export of %s's image: %v %v", who, err, terr)
	}
	return files, req.Tags[0]
}

// parityLegacyIgnoreFile checks the one known difference of the legacy
// builder: with the Dockerfile outside the context, the docker driver sends
// it inside the context as .claude-bottle.Dockerfile and appends that name
// to the context's .dockerignore (so the daemon drops it), which a COPY of
// the whole context then copies. Info.Notes tells users so.
func parityLegacyIgnoreFile(t *testing.T, tag, original string) {
	t.Helper()
	got := testenv.RunImage(t, tag, "/bin/busybox", "cat", "/ctx/.dockerignore")
	if want := strings.TrimSpace(original + ".claude-bottle.Dockerfile"); got != want {
		t.Errorf("legacy /ctx/.dockerignore = %q, want %q", got, want)
	}
}

func parityCompare(t *testing.T, want, got map[string]string) {
	t.Helper()
	var diffs []string
	for name, w := range want {
		if g, ok := got[name]; !ok {
			diffs = append(diffs, "missing "+name+" ("+w+")")
		} else if g != w {
			diffs = append(diffs, name+": buildkit "+w+", docker "+g)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, "extra "+name+" ("+g+")")
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("the images differ in %d files:\n  %s", len(diffs), strings.Join(diffs, "\n  "))
	}
	if len(want) < 10 {
		t.Errorf("suspiciously few files compared: %d", len(want))
	}
}

// rebuildDockerfile is a bottle's override as launch builds it: outside
// the context, a RUN whose output is new each time it runs, and a last
// stage that copies the whole context.
const rebuildDockerfile = testenv.BusyboxDockerfile + `RUN cat /proc/sys/kernel/random/uuid > /uuid

FROM scratch
COPY --from=0 /bin/busybox /uuid /
COPY . /ctx/
`

// parityBuilder is one driver, or one mode of the docker driver, to run
// the same scenario with.
type parityBuilder struct {
	name string
	make func(t *testing.T) driver.Builder
}

func parityBuilders() []parityBuilder {
	out := []parityBuilder{{"buildkit", func(t *testing.T) driver.Builder { return bkBuilder(t, driver.Config{}) }}}
	for _, s := range dcSetups {
		out = append(out, parityBuilder{"docker-" + string(s.mode), func(t *testing.T) driver.Builder { return dcBuilder(t, s, driver.Config{}) }})
	}
	return out
}

// TestDriverParityRebuild rebuilds an override bottle with nothing
// changed, with every driver and docker mode: the image ID stays and every
// COPY and RUN step is reported cached. Then a build that fails leaves the
// tag on the image it named, and a changed context file gives a new image.
// The context's .dockerignore does not exclude itself, the case where the
// docker CLI's random Dockerfile name changed COPY . on every legacy build.
func TestDriverParityRebuild(t *testing.T) {
	testenv.RequireDocker(t)
	for _, pb := range parityBuilders() {
		t.Run(pb.name, func(t *testing.T) {
			b := pb.make(t)
			repo := testenv.BusyboxContext(t, map[string]string{
				".dockerignore": "secret.txt\n", "secret.txt": "no", "src/main.go": "package main\n",
			})
			state := t.TempDir()
			testenv.WriteFiles(t, state, map[string]string{"Dockerfile": rebuildDockerfile})
			req := driver.Request{Dockerfile: filepath.Join(state, "Dockerfile"), ContextDir: repo, Tags: []string{dcTag(t, "rebuild-"+pb.name)}}

			first := parityBuild(t, b, req)
			again, rec := parityBuildRec(t, b, req)
			cacheable, cached := parityCachedSteps(rec)
			t.Logf("%s: first %s %+v; no-op rebuild %s %+v in %v, %d of %d COPY/RUN steps cached",
				pb.name, first.ImageID, first.Steps, again.ImageID, again.Steps, again.Duration.Round(time.Millisecond), cached, cacheable)
			if again.ImageID != first.ImageID {
				t.Errorf("no-op rebuild gave image %s, first build %s", again.ImageID, first.ImageID)
			}
			if cacheable < 4 || cached != cacheable || again.Steps.Cached < cacheable {
				t.Errorf("no-op rebuild: %d of %d COPY/RUN steps cached (steps %+v), want all", cached, cacheable, again.Steps)
			}
			if id := imageID(req.Tags[0]); id != first.ImageID {
				t.Errorf("%s names %s after the rebuild, want %s", req.Tags[0], id, first.ImageID)
			}

			before := imageID(req.Tags[0])
			testenv.WriteFiles(t, state, map[string]string{"Dockerfile": rebuildDockerfile + "RUN [\"/bin/busybox\", \"false\"]\n"})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if _, err := b.Build(ctx, req, nil); !errors.Is(err, driver.ErrBuildFailed) {
				t.Errorf("a build whose last step fails: err = %v, want ErrBuildFailed", err)
			}
			if id := imageID(req.Tags[0]); id != before {
				t.Errorf("the failed build moved %s to %q, want it left on %s", req.Tags[0], id, before)
			}

			testenv.WriteFiles(t, state, map[string]string{"Dockerfile": rebuildDockerfile})
			testenv.WriteFiles(t, repo, map[string]string{"src/main.go": "package main // edited\n"})
			if edited := parityBuild(t, b, req); edited.ImageID == first.ImageID {
				t.Errorf("a context file changed and the image stayed %s", edited.ImageID)
			}
		})
	}
}

func parityBuild(t *testing.T, b driver.Builder, req driver.Request) *driver.Result {
	t.Helper()
	res, _ := parityBuildRec(t, b, req)
	return res
}

func parityBuildRec(t *testing.T, b driver.Builder, req driver.Request) (*driver.Result, *recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorder{}
	res, err := b.Build(ctx, req, rec)
	if err != nil {
		t.Fatal(err)
	}
	return res, rec
}

// parityCachedSteps counts the COPY and RUN steps of a build ("[2/5] RUN
// ...", "[stage-1 1/2] COPY ...") and how many of them came from the cache.
func parityCachedSteps(rec *recorder) (steps, cached int) {
	for _, v := range rec.vertexes() {
		if !strings.Contains(v.Name, "] COPY ") && !strings.Contains(v.Name, "] RUN ") {
			continue
		}
		steps++
		if v.Cached {
			cached++
		}
	}
	return steps, cached
}
