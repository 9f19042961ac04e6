package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildFixture is a CLI fixture with two bottles: a on the repo's
// Dockerfile (no state) and b with an override of its own. Builds run the
// built-in drivers in this process; every case here is refused before a
// driver is asked to build, so no engine is needed.
func buildFixture(t *testing.T) *cliFixture {
	t.Helper()
	f := newCLIFixture(t)
	t.Setenv("CLAUDE_BOTTLE_IN_PROCESS", "1")
	f.ok("state", "set-dockerfile", "b", f.write("b.Dockerfile", "FROM scratch\nCOPY Dockerfile /\n"))
	return f
}

// standalone names a standalone buildkitd (never reached: the cases are
// refused first), whose driver declares push and cache export.
func standalone(f *cliFixture) []string {
	return []string{"--repo", f.repo, "--driver", "buildkit", "--buildkit-addr", "unix://" + filepath.Join(f.tmp, "no-buildkitd.sock")}
}

// TestBuildRefusesBeforeBuilding: every bad invocation of build is one
// line, exit 2, with nothing built and nothing written (defects 1, 2, 3, 7
// and the metadata file of 4).
func TestBuildRefusesBeforeBuilding(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(f *cliFixture) []string
		want  []string
	}{
		{"push without a push name", func(f *cliFixture) []string {
			return append([]string{"build", "a", "b", "--push"}, standalone(f)...)
		}, []string{"--push: no push name", "Docker Hub", "--push-name", "[push] name"}},
		{"push name without a registry", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--push", "--push-name", "team/{image}:{tag}"}, standalone(f)...)
		}, []string{"--push-name", `"team/claude-bottle-rebuilt-slug:latest"`, "names no registry", "Docker Hub"}},
		{"push name in config without a registry", func(f *cliFixture) []string {
			f.write("home/config.toml", "[push]\nname = \"{image}:{tag}\"\n")
			return append([]string{"build", "a", "--push"}, standalone(f)...)
		}, []string{"config.toml:2:", `"push.name"`, "names no registry"}},
		{"launch --push", func(f *cliFixture) []string {
			return append([]string{"launch", "a", "--push", "--dry-run"}, standalone(f)...)
		}, []string{"--push: launch does not push", "Docker Hub", "claude-bottle build SLUG --push --push-name"}},
		{"push name placeholder unknown", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--push", "--push-name", "reg.example/{bottle}"}, standalone(f)...)
		}, []string{"unknown placeholder {bottle}"}},
		{"one tar for two images", func(f *cliFixture) []string {
			return append([]string{"build", "a", "b", "--output", "type=tar,dest=" + filepath.Join(f.tmp, "all.tar")}, standalone(f)...)
		}, []string{"--output dest " + filepath.Join("<tmp>", "all.tar"), "bottles a and b", "{slug}"}},
		{"one registry output for two images", func(f *cliFixture) []string {
			return append([]string{"build", "a", "b", "--output", "type=registry,name=reg.example/r:1"}, standalone(f)...)
		}, []string{"image name reg.example/r:1", "{slug}"}},
		{"one local cache for two images", func(f *cliFixture) []string {
			return append([]string{"build", "b", "a", "--cache-to", "type=local,dest=" + filepath.Join(f.tmp, "cache") + ",mode=max"}, standalone(f)...)
		}, []string{"bottles b and a", "{slug}"}},
		{"local cache export on the engine's BuildKit", func(f *cliFixture) []string {
			return []string{"build", "a", "b", "--repo", f.repo, "--driver", "buildkit", "--cache-to", "type=local,dest=" + filepath.Join(f.tmp, "c-{slug}")}
		}, []string{"--cache-to type=local", "only inline", "claude-bottle drivers --driver buildkit"}},
		{"local cache import missing", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--cache-from", "type=local,src=" + filepath.Join(f.tmp, "missing")}, standalone(f)...)
		}, []string{"--cache-from type=local", "no such folder", "--cache-to type=local,dest=DIR"}},
		{"metadata file in a missing folder", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--metadata-file", filepath.Join(f.tmp, "nope", "meta.json")}, standalone(f)...)
		}, []string{"--metadata-file", "cannot write beside"}},
		{"metadata file is a folder", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--metadata-file", f.tmp}, standalone(f)...)
		}, []string{"--metadata-file", "is a folder"}},
		{"--load without --output", func(f *cliFixture) []string {
			return append([]string{"build", "a", "--load"}, standalone(f)...)
		}, []string{"--load goes with --output"}},
		{"bad $BUILDKIT_PROGRESS", func(f *cliFixture) []string {
			f.t.Setenv("BUILDKIT_PROGRESS", "loud")
			return append([]string{"build", "a"}, standalone(f)...)
		}, []string{`unknown $BUILDKIT_PROGRESS "loud"`}},
		{"a bad Dockerfile, named last", func(f *cliFixture) []string {
			os.WriteFile(filepath.Join(f.home, "state", "b", "Dockerfile"), []byte("FROM scratch\nFROBNICATE\n"), 0o644)
			return append([]string{"build", "a", "b"}, standalone(f)...)
		}, []string{"bottle b:", "invalid Dockerfile", "line 2"}},
		{"a bad Dockerfile, named first", func(f *cliFixture) []string {
			os.WriteFile(filepath.Join(f.home, "state", "b", "Dockerfile"), []byte("FROM scratch\nFROBNICATE\n"), 0o644)
			return append([]string{"build", "b", "a"}, standalone(f)...)
		}, []string{"bottle b:", "invalid Dockerfile", "line 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := buildFixture(t)
			args := tc.setup(f)
			before := cliTree(t, f.tmp)
			r := f.run("", args...)
			r.errOut = f.normalise(r.errOut)
			wantOneLineError(t, r, exitUsage, tc.want...)
			if after := cliTree(t, f.tmp); after != before {
				t.Errorf("a refused build wrote:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// TestBuildHelpSaysWhatOutputDoes: --output replaces the load, and the
// help says so (defect 2).
func TestBuildHelpSaysWhatOutputDoes(t *testing.T) {
	f := newCLIFixture(t)
	help := f.ok("build", "--help").out
	for _, want := range []string{"--output replaces loading the image into the Docker engine", "--load", "{slug}", "--push-name", "Exit codes"} {
		if !strings.Contains(help, want) {
			t.Errorf("build --help does not say %q", want)
		}
	}
}

// TestPlanSeveralAndAll: plan takes several slugs or --all, and says which
// have no state (defect 9).
func TestPlanSeveralAndAll(t *testing.T) {
	f := newCLIFixture(t)
	f.ok("state", "set-dockerfile", "b", f.write("b.Dockerfile", "FROM scratch\n"))
	f.ok("state", "set-dockerfile", "c", f.write("c.Dockerfile", "FROM scratch\n"))
	base := []string{"--repo", f.repo, "--driver", "buildkit"}
	r := f.ok(append([]string{"plan", "a", "b"}, base...)...)
	if strings.Count("\n"+r.out, "\nbottle ") != 2 || !strings.Contains(r.out, "claude-bottle-rebuilt-b:latest") || !strings.Contains(r.out, "claude-bottle:latest") {
		t.Errorf("plan a b =\n%s", r.out)
	}
	if r.errOut != "bottle a: no state: building the repo's Dockerfile ("+filepath.Join(f.repo, "Dockerfile")+"); see `claude-bottle state list`\n" {
		t.Errorf("plan a b said on stderr %q; want a's no-state note alone", r.errOut)
	}
	var views []struct{ Slug, Image string }
	out := f.ok(append([]string{"plan", "--all", "--format", "json"}, base...)...).out
	if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 2 || views[0].Slug != "b" || views[1].Image != "claude-bottle-rebuilt-c:latest" {
		t.Errorf("plan --all --format json = %+v, %v\n%s", views, err, out)
	}
	var one struct{ Slug string }
	if err := json.Unmarshal([]byte(f.ok(append([]string{"plan", "c", "--format", "json"}, base...)...).out), &one); err != nil || one.Slug != "c" {
		t.Errorf("plan c --format json is not one object: %+v, %v", one, err)
	}
}

// TestCompletion: slugs (from state), drivers and progress modes complete
// (defect 9).
func TestCompletion(t *testing.T) {
	f := newCLIFixture(t)
	f.ok("state", "set-dockerfile", "alpha", f.write("a.Dockerfile", "FROM scratch\n"))
	f.ok("state", "set-dockerfile", "beta", f.write("b.Dockerfile", "FROM scratch\n"))
	complete := func(args ...string) []string {
		t.Helper()
		r := f.ok(append([]string{"__complete"}, args...)...)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
			if !strings.HasPrefix(line, ":") { // the last line is cobra's directive
				got = append(got, strings.SplitN(line, "\t", 2)[0])
			}
		}
		return got
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", ""}, "alpha beta"},
		{[]string{"build", "alpha", ""}, "beta"},
		{[]string{"plan", "b"}, "beta"},
		{[]string{"launch", ""}, "alpha beta"},
		{[]string{"launch", "alpha", ""}, ""},
		{[]string{"build", "--driver", ""}, "buildkit docker"},
		{[]string{"plan", "--driver", "d"}, "buildkit docker"}, // the shell filters by prefix
		{[]string{"build", "--progress", ""}, "auto tty plain rawjson quiet"},
		{[]string{"launch", "x", "--progress", ""}, "auto tty plain rawjson quiet"},
	} {
		if got := strings.Join(complete(tc.args...), " "); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestBuildFilePrint: a bottles file gives each bottle its own settings,
// flags win over it, and --print shows the builds resolved without a
// driver or a build.
func TestBuildFilePrint(t *testing.T) {
	f := buildFixture(t)
	file := f.write("bottles.toml", `[defaults]
build_args = { VERSION = "1" }
push_name = "registry.example:5000/team/{slug}:{tag}"
cache_to = ["type=registry,ref=registry.example:5000/cache:{slug},mode=max"]

[bottles.a]
target = "final"

[bottles.b]
build_args = { VERSION = "2", ONLY_B = "yes" }
push_name = "registry.example:5000/b-alone:{tag}"
`)
	var got struct {
		Bottles map[string]struct {
			Image, Push string
			Request     struct {
				Target    string            `json:"target"`
				BuildArgs map[string]string `json:"build_args"`
				CacheTo   []struct {
					Attrs map[string]string `json:"attrs"`
				} `json:"cache_to"`
				Outputs []struct {
					Type  string            `json:"type"`
					Attrs map[string]string `json:"attrs"`
				} `json:"outputs"`
			}
		}
	}
	before := cliTree(t, f.home)
	r := f.ok("build", "--file", file, "--print", "--push", "--build-arg", "FLAG=on", "--repo", f.repo)
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("--print is not JSON: %v\n%s", err, r.out)
	}
	a, b := got.Bottles["a"], got.Bottles["b"]
	if len(got.Bottles) != 2 || a.Push != "registry.example:5000/team/a:latest" || a.Request.Target != "final" ||
		a.Request.BuildArgs["VERSION"] != "1" || a.Request.BuildArgs["FLAG"] != "on" || a.Request.CacheTo[0].Attrs["ref"] != "registry.example:5000/cache:a" {
		t.Errorf("a = %+v", a)
	}
	if b.Push != "registry.example:5000/b-alone:latest" || b.Request.BuildArgs["VERSION"] != "2" || b.Request.BuildArgs["ONLY_B"] != "yes" ||
		len(b.Request.Outputs) != 2 || b.Request.Outputs[1].Attrs["name"] != b.Push || b.Image != "claude-bottle-rebuilt-b:latest" {
		t.Errorf("b = %+v", b)
	}
	if after := cliTree(t, f.home); after != before {
		t.Errorf("--print wrote to the state root:\n%s", after)
	}
	// A flag wins over the file: --push-name over every push_name, a
	// --build-arg over the file's value.
	r = f.ok("build", "--file", file, "--print", "--push", "--push-name", "reg.example/{slug}", "--build-arg", "VERSION=9", "--repo", f.repo, "b")
	got.Bottles = nil
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got.Bottles) != 1 || got.Bottles["b"].Push != "reg.example/b" || got.Bottles["b"].Request.BuildArgs["VERSION"] != "9" {
		t.Errorf("flags over the file: %+v, %v", got.Bottles, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "--file", file, "c"}, `does not list bottle "c" (it lists a, b)`},
		{[]string{"build", "--file", file, "--all"}, "pass --all or --file, not both"},
		{[]string{"build", "--file", f.write("bad.toml", "[bottles.a]\ntags = []\n")}, `bad.toml:2: unknown key "bottles.a.tags"`},
		{[]string{"build", "--file", f.write("badpush.toml", "[bottles.a]\npush_name = \"a/{slug}\"\n"), "--push"}, "names no registry"},
	} {
		r := f.run("", append(tc.args, "--repo", f.repo, "--print")...)
		wantOneLineError(t, r, exitUsage, tc.want)
	}
}
