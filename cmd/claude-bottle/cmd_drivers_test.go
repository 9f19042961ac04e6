package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins"
)

func prio(n int) *int { return &n }

// probes are what ProbeAll could return: a ready built-in, one whose
// check fails, an installed plugin, an unverified one from PATH and a
// refused one.
func sampleProbes() []plugins.Probe {
	feats := map[driver.Feature]bool{driver.FeatureSecrets: true, driver.FeatureDockerLoad: true, driver.FeatureSSH: false}
	return []plugins.Probe{
		{Descriptor: plugins.Descriptor{Name: "buildkit", Source: plugins.SourceBuiltin, Path: "/bin/cb", BuiltIn: true, Verified: true, Priority: prio(20)},
			Description: plugins.Description{Version: "dev", Protocol: 1}, Info: driver.Info{Version: "v0.34.2", Features: feats}},
		{Descriptor: plugins.Descriptor{Name: "docker", Source: plugins.SourceBuiltin, Path: "/bin/cb", BuiltIn: true, Verified: true, Priority: prio(10)},
			Description: plugins.Description{Protocol: 1}, Info: driver.Info{Version: "20.10"},
			CheckErr: fmt.Errorf("%w: no engine\nat all", driver.ErrDaemonUnreachable)},
		{Descriptor: plugins.Descriptor{Name: "buildah", Source: plugins.SourceInstalled, Path: "/h/plugins/claude-bottle-driver-buildah", Verified: true},
			Description: plugins.Description{Version: "0.1.0", Protocol: 1}, Info: driver.Info{Version: "0.1.0", Features: feats}},
		{Descriptor: plugins.Descriptor{Name: "onpath", Source: plugins.SourcePath, Path: "/usr/local/bin/claude-bottle-driver-onpath"},
			Description: plugins.Description{Version: "2", Protocol: 1, Priority: prio(99)}},
		{Descriptor: plugins.Descriptor{Name: "bad", Source: plugins.SourceInstalled, Path: "/h/plugins/claude-bottle-driver-bad"},
			Err: errors.New("unusable driver plugin: it is not executable")},
	}
}

func TestWriteDriversText(t *testing.T) {
	probes := sampleProbes()
	def, _, err := plugins.ChooseDefault(probes, nil)
	if err != nil || def != "buildkit" {
		t.Fatalf("default = %q, %v", def, err)
	}
	var buf bytes.Buffer
	if err := writeDrivers(&buf, driverViews(probes, def), "text"); err != nil {
		t.Fatal(err)
	}
	want := `NAME      SOURCE                                                   VERSION  PROTOCOL  FEATURES             STATUS
buildkit  built-in                                                 v0.34.2  1         docker-load,secrets  ready (default)
docker    built-in                                                 20.10    1         -                    cannot build here: build daemon unreachable: no engine at all
buildah   /h/plugins/claude-bottle-driver-buildah                  0.1.0    1         docker-load,secrets  ready
onpath    /usr/local/bin/claude-bottle-driver-onpath (unverified)  2        1         -                    ready
bad       /h/plugins/claude-bottle-driver-bad                      -        -         -                    unusable: unusable driver plugin: it is not executable
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWriteDriversJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := writeDrivers(&buf, driverViews(sampleProbes(), "buildkit"), "json"); err != nil {
		t.Fatal(err)
	}
	var views []driverView
	if err := json.Unmarshal(buf.Bytes(), &views); err != nil {
		t.Fatal(err)
	}
	if len(views) != 5 {
		t.Fatalf("%d drivers", len(views))
	}
	bk, docker, onpath, bad := views[0], views[1], views[3], views[4]
	if !bk.Default || !bk.Ready || *bk.Priority != 20 || bk.Protocol != 1 || len(bk.Features) != 2 {
		t.Errorf("buildkit = %+v", bk)
	}
	if docker.Ready || docker.CheckError == "" || docker.Default {
		t.Errorf("docker = %+v", docker)
	}
	if onpath.Verified || !onpath.Ready || onpath.Default || onpath.Features == nil {
		t.Errorf("onpath = %+v", onpath)
	}
	if bad.Ready || bad.Error == "" {
		t.Errorf("bad = %+v", bad)
	}
}
