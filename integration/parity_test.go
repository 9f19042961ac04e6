//go:build linux

package integration

import (
	"context"
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
// builder: with the Dockerfile outside the context, the docker CLI sends it
// inside the context under a random name and appends that name to the
// context's .dockerignore (so the daemon drops it), which a COPY of the
// whole context then copies. Info.Notes tells users so.
func parityLegacyIgnoreFile(t *testing.T, tag, original string) {
	t.Helper()
	got := testenv.RunImage(t, tag, "/bin/busybox", "cat", "/ctx/.dockerignore")
	rest, ok := strings.CutPrefix(got, strings.TrimSpace(original))
	if !ok || !strings.HasPrefix(strings.TrimSpace(rest), ".dockerfile.") || strings.Count(strings.TrimSpace(rest), "\n") != 0 {
		t.Errorf("legacy /ctx/.dockerignore = %q, want the original plus one .dockerfile.<random> line", got)
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
