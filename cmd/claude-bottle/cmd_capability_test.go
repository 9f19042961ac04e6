package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCapabilityBadInput: each bad command exits 2 with one line saying
// what was wrong, and writes nothing, before any driver is opened.
func TestCapabilityBadInput(t *testing.T) {
	f := newCLIFixture(t)
	snippet := f.write("from.snippet", "RUN true\nFROM alpine\n")
	cont := f.write("cont.snippet", "RUN echo \\\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capability", "add", "demo", "jq"}, "exactly one of --run, --file, --package or --host"},
		{[]string{"capability", "add", "demo", "web", "--host", "http://pypi.org/"}, "--host"},
		{[]string{"capability", "add", "demo", "web", "--host", "pypi.org", "--run", "true"}, "exactly one of"},
		{[]string{"capability", "add", "demo", "jq", "--run", "true", "--package", "jq"}, "exactly one of"},
		{[]string{"capability", "add", "demo", "Bad/Name", "--run", "true"}, "slug rule"},
		{[]string{"capability", "add", "demo", "jq", "--run", "true\nFROM evil"}, "line break"},
		{[]string{"capability", "add", "demo", "jq", "--file", snippet}, "holds a FROM"},
		{[]string{"capability", "add", "demo", "jq", "--file", cont}, "runs on past its end"},
		{[]string{"capability", "add", "demo", "jq", "--file", f.tmp + "/missing"}, "--file"},
		{[]string{"capability", "add", "demo", "jq", "--package", "jq;rm -rf /"}, `package "jq;rm -rf /"`},
		{[]string{"capability", "add", "demo", "jq", "--package", "jq"}, "cannot tell which package manager"},
		{[]string{"capability", "add", "demo", "jq", "--run", "true", "--user", "root\nRUN x"}, "user"},
		{[]string{"capability", "add", "demo", "jq", "--run", "true", "--reason", "a\nb"}, "one line"},
		{[]string{"capability", "add", "UPPER", "jq", "--run", "true"}, "invalid bottle slug"},
		{[]string{"capability", "add", "demo", "jq", "--run", "true", "--repo", f.tmp + "/nowhere"}, "is not a folder"},
		{[]string{"capability", "remove", "demo", "jq"}, "no capabilities"},
		{[]string{"capability", "rebase", "demo"}, "nothing to rebase"},
		{[]string{"capability", "rollback", "demo"}, ""},
		{[]string{"capability", "list", "demo", "--format", "xml"}, "--format"},
		{[]string{"capability", "bogus"}, "unknown command"},
	} {
		args := append(append([]string{}, tc.args...), "--repo", f.repo)
		if tc.args[1] == "bogus" || tc.args[1] == "list" || strings.Contains(strings.Join(tc.args, " "), "--repo") {
			args = tc.args
		}
		r := f.run("", args...)
		line := strings.TrimSpace(r.errOut)
		if r.code != exitUsage || strings.Count(line, "\n") != 0 || !strings.Contains(line, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", tc.args, r.code, r.errOut, tc.want)
		}
	}
	if got := cliTree(t, f.home); got != "<absent>" {
		t.Errorf("refused commands wrote state:\n%s", got)
	}
}

// TestCapabilityAddHost adds an egress capability: nothing to build, so no
// driver is needed, and the list holds the hosts.
func TestCapabilityAddHost(t *testing.T) {
	f := newCLIFixture(t)
	// No --no-build: with nothing to build, no driver is opened.
	r := f.ok("capability", "add", "demo", "pypi", "--host", "pypi.org,files.pythonhosted.org:443", "--reason", "pip", "--repo", f.repo)
	if !strings.Contains(r.out, "nothing to build") {
		t.Errorf("add --host said %q", r.out)
	}
	r = f.ok("capability", "list", "demo", "--format", "json", "--repo", f.repo)
	var st struct {
		Capabilities []struct{ Name, Kind, Instructions string }
		NeedsBuild   bool `json:"needs_build"`
	}
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Capabilities) != 1 || st.Capabilities[0].Kind != "egress" || st.Capabilities[0].Instructions != "pypi.org files.pythonhosted.org:443" || st.NeedsBuild {
		t.Errorf("list = %+v", st)
	}
}

// TestCapabilityNoBuild records a change without a driver or an engine,
// as CI does, and checks list, plan and log show it and the need to build.
func TestCapabilityNoBuild(t *testing.T) {
	f := newCLIFixture(t)
	r := f.ok("capability", "add", "demo", "jq", "--run", "echo jq > /etc/jq", "--reason", "parse JSON", "--no-build", "--repo", f.repo)
	if !strings.Contains(r.out, `bottle demo: add "jq" recorded, not built; run `+"`claude-bottle build demo`") {
		t.Errorf("add --no-build said %q", r.out)
	}
	var st struct {
		Capabilities []struct {
			Name, Reason, Instructions string
			ApprovedBy                 string `json:"approved_by"`
		}
		NeedsBuild bool `json:"needs_build"`
	}
	r = f.ok("capability", "list", "demo", "--format", "json", "--repo", f.repo)
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Capabilities) != 1 || st.Capabilities[0].Reason != "parse JSON" || st.Capabilities[0].ApprovedBy == "" ||
		st.Capabilities[0].Instructions != "RUN echo jq > /etc/jq\n" || !st.NeedsBuild {
		t.Errorf("list = %+v", st)
	}
	var plan struct {
		Image        string
		Capabilities []struct{ Name string }
		Stale        bool
		NeedsBuild   bool `json:"needs_build"`
	}
	r = f.ok("plan", "demo", "--format", "json", "--repo", f.repo, "--driver", "buildkit")
	if err := json.Unmarshal([]byte(r.out), &plan); err != nil {
		t.Fatal(err)
	}
	if plan.Image != "claude-bottle-rebuilt-demo:latest" || len(plan.Capabilities) != 1 || plan.Stale || !plan.NeedsBuild {
		t.Errorf("plan = %+v", plan)
	}
	f.write("repo/Dockerfile", "FROM scratch\nCOPY . /src\nENV CHANGED=1\n")
	r = f.ok("plan", "demo", "--repo", f.repo, "--driver", "buildkit")
	if !strings.Contains(r.out, "stale since") || !strings.Contains(r.out, "claude-bottle capability rebase demo") || !strings.Contains(r.out, "capabilities  jq") {
		t.Errorf("plan after the repo changed:\n%s", r.out)
	}
	r = f.ok("state", "show", "demo")
	if !strings.Contains(r.out, "capabilities  jq") {
		t.Errorf("state show:\n%s", r.out)
	}
	r = f.ok("capability", "show", "demo", "--repo", f.repo)
	if !strings.Contains(r.out, "+RUN echo jq > /etc/jq") {
		t.Errorf("show:\n%s", r.out)
	}
	r = f.ok("capability", "log", "demo")
	if !strings.Contains(r.out, "add") || !strings.Contains(r.out, "--no-build") {
		t.Errorf("log:\n%s", r.out)
	}
	if r := f.run("", "capability", "add", "demo", "jq", "--run", "true", "--no-build", "--repo", f.repo); r.code != exitUsage || !strings.Contains(r.errOut, `already has a capability named "jq"`) {
		t.Errorf("a taken name: %d %q", r.code, r.errOut)
	}
}

// TestStateSetDockerfileOnABottleWithCapabilities: the bottle's own
// Dockerfile becomes its base, the override goes stale until rebased,
// and reset clears the capabilities with the override.
func TestStateSetDockerfileOnABottleWithCapabilities(t *testing.T) {
	f := newCLIFixture(t)
	f.ok("capability", "add", "demo", "jq", "--run", "true", "--no-build", "--repo", f.repo)
	own := f.write("own.Dockerfile", "FROM scratch\nUSER 1000\n")
	r := f.ok("state", "set-dockerfile", "demo", own)
	if !strings.Contains(r.errOut, "base.Dockerfile is now its base") || !strings.Contains(r.errOut, "capability rebase demo") {
		t.Errorf("set-dockerfile said %q", r.errOut)
	}
	r = f.ok("capability", "list", "demo", "--repo", f.repo)
	if !strings.Contains(r.out, "stale since") || !strings.Contains(r.out, "bottle's base Dockerfile") {
		t.Errorf("list after set-dockerfile:\n%s", r.out)
	}
	f.ok("capability", "rebase", "demo", "--no-build", "--repo", f.repo)
	r = f.ok("capability", "show", "demo", "--repo", f.repo)
	if !strings.Contains(r.out, "base.Dockerfile") || !strings.Contains(r.out, "+USER root\n+RUN true\n+USER 1000") {
		t.Errorf("show after rebase:\n%s", r.out)
	}
	f.ok("state", "reset", "demo")
	r = f.ok("capability", "list", "demo", "--repo", f.repo)
	if !strings.Contains(r.out, "has no capabilities") {
		t.Errorf("list after reset:\n%s", r.out)
	}
	if r := f.ok("plan", "demo", "--repo", f.repo, "--driver", "buildkit", "--format", "json"); !strings.Contains(r.out, `"image": "claude-bottle:latest"`) {
		t.Errorf("plan after reset:\n%s", r.out)
	}
	r = f.ok("capability", "log", "demo")
	for _, want := range []string{"add", "set-base", "rebase", "reset"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("log lacks %s:\n%s", want, r.out)
		}
	}
}
