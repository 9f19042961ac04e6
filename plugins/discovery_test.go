package plugins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

func TestThirdPartyPlugins(t *testing.T) {
	tests := []struct {
		mode    string
		ok      bool
		errHas  []string // the start error names the file and says what happened
		timeout time.Duration
	}{
		{mode: "echo", ok: true},
		{mode: "stdout-junk", ok: true},
		{mode: "v2", errHas: []string{"speaks driver protocol version 2", "this claude-bottle speaks version 1"}},
		{mode: "not-a-plugin", errHas: []string{"is not a claude-bottle driver plugin", "exit status 2", "frobnicate: missing operand", "usage: frobnicate"}},
		{mode: "hang", errHas: []string{"did not answer the plugin handshake in time"}, timeout: 500 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			ctx := testCtx(t)
			m := newTestManager(t, Options{StartTimeout: tc.timeout})
			p := installScript(t, m, "p"+strings.ReplaceAll(tc.mode, "-", ""), tc.mode)
			name := filepath.Base(p)[len(BinaryPrefix):]
			b, err := m.Open(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := b.Build(ctx, echoRequest(t, map[string]string{"events": "5"}), nil)
			if tc.ok {
				if err != nil || res.ImageID != "sha256:5" {
					t.Fatalf("Build = %v, %v", res, err)
				}
				return
			}
			if !errors.Is(err, ErrBadPlugin) {
				t.Fatalf("Build error = %v, want ErrBadPlugin", err)
			}
			for _, want := range append(tc.errHas, p) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if kids := children(t); len(kids) != 0 {
				t.Errorf("a failed start left processes: %v", kids)
			}
		})
	}
}

func TestChecksumMismatchIsNotRun(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	p := installScript(t, m, "changed", "echo")
	marker := filepath.Join(t.TempDir(), "ran")
	script, _ := os.ReadFile(p)
	tampered := strings.Replace(string(script), "\n", "\ntouch "+marker+"\n", 1)
	if err := os.WriteFile(p, []byte(tampered), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := m.Open(ctx, "changed")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // each start checks afresh
		if err := b.Check(ctx); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), p) {
			t.Fatalf("Check of a tampered plugin: %v, want ErrChecksum naming %s", err, p)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the tampered plugin ran")
	}
	// The right binary passes, every time (a reused hash would fail the second).
	if err := os.WriteFile(p, script, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := b.Check(ctx); err != nil {
			t.Fatalf("start %d of the intact plugin: %v", i, err)
		}
		m.Close()
		m = newTestManager(t, Options{Home: m.opts.Home})
		b, _ = m.Open(ctx, "changed")
	}
}

func TestDiscoveryRefusesUnsafePlugins(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *Manager) (driverName string)
		want  string
	}{
		{"not executable", func(t *testing.T, m *Manager) string {
			p := installScript(t, m, "noexec", "echo")
			os.Chmod(p, 0o644)
			return "noexec"
		}, "is not executable"},
		{"directory", func(t *testing.T, m *Manager) string {
			p := installScript(t, m, "dir", "echo")
			os.Remove(p)
			os.Mkdir(p, 0o755)
			return "dir"
		}, "is a directory"},
		{"group-writable file", func(t *testing.T, m *Manager) string {
			p := installScript(t, m, "gw", "echo")
			os.Chmod(p, 0o775)
			return "gw"
		}, "writable by other users"},
		{"symlinked file", func(t *testing.T, m *Manager) string {
			p := installScript(t, m, "ln", "echo")
			real := filepath.Join(t.TempDir(), "real")
			os.Rename(p, real)
			os.Symlink(real, p)
			return "ln"
		}, "is a symbolic link"},
		{"put in by hand", func(t *testing.T, m *Manager) string {
			dir, _ := m.ensurePluginsDir()
			writeScript(t, dir, BinaryName("byhand"), "echo")
			return "byhand"
		}, "no checksum is recorded"},
		{"writable folder", func(t *testing.T, m *Manager) string {
			installScript(t, m, "wf", "echo")
			os.Chmod(m.PluginsDir(), 0o777)
			return "wf"
		}, "is writable by other users"},
		{"symlinked folder", func(t *testing.T, m *Manager) string {
			installScript(t, m, "lf", "echo")
			real := filepath.Join(t.TempDir(), "real-plugins")
			os.Rename(m.PluginsDir(), real)
			os.Symlink(real, m.PluginsDir())
			return "lf"
		}, "is a symbolic link"},
		{"built-in's name", func(t *testing.T, m *Manager) string {
			installScript(t, m, testDriverLow, "echo")
			return testDriverLow + "-plugin"
		}, "has the same name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m := newTestManager(t, Options{})
			name := tc.setup(t, m)
			ds, err := m.Drivers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var found *Descriptor
			for i := range ds {
				if ds[i].Name == name || ds[i].Name+"-plugin" == name && !ds[i].BuiltIn {
					found = &ds[i]
				}
			}
			if found == nil || found.Err == nil || !strings.Contains(found.Err.Error(), tc.want) || !errors.Is(found.Err, ErrBadPlugin) {
				t.Fatalf("descriptor %+v: want an ErrBadPlugin saying %q", found, tc.want)
			}
			if !strings.Contains(found.Err.Error(), found.Path) && !strings.Contains(found.Err.Error(), m.PluginsDir()) {
				t.Errorf("error names neither the file nor the folder: %v", found.Err)
			}
			b, err := m.Open(ctx, found.Name)
			if err == nil && !b.(*remote).d.BuiltIn {
				t.Error("Open accepted a refused plugin")
			}
		})
	}
}

func TestPathPluginsRunUnverifiedAndAreNeverDefault(t *testing.T) {
	ctx := testCtx(t)
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	writeScript(t, bin, BinaryName("onpath"), "prio") // declares a priority above every built-in
	writeScript(t, bin, BinaryName(testDriver), "echo")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	m := newTestManager(t, Options{})
	ds, err := m.Drivers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]Descriptor{}
	for _, d := range ds {
		byName[d.Name] = append(byName[d.Name], d)
	}
	onpath := byName["onpath"]
	if len(onpath) != 1 || onpath[0].Source != SourcePath || onpath[0].Verified || onpath[0].Err != nil {
		t.Fatalf("PATH plugin: %+v", onpath)
	}
	if clash := byName[testDriver]; len(clash) != 2 || clash[1].Err == nil {
		t.Errorf("a PATH plugin with a built-in's name is not refused: %+v", clash)
	}
	b, err := m.Open(ctx, "onpath")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatalf("a PATH plugin named explicitly must run: %v", err)
	}
	name, why, err := m.Default(ctx)
	if err != nil || name != testDriver {
		t.Fatalf("Default = %q, %v; want the built-in %q (PATH plugins are never the default)", name, err, testDriver)
	}
	if why != DefaultReason {
		t.Errorf("why = %q", why)
	}
}

func TestDefaultPrefersDeclaredPriorityAndSaysWhy(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	installScript(t, m, "high", "prio") // priority 1001, above the built-ins
	installScript(t, m, "plain", "echo")
	name, why, err := m.Default(ctx)
	if err != nil || name != "high" {
		t.Fatalf("Default = %q, %v", name, err)
	}
	if why != DefaultReason {
		t.Errorf("why = %q, want %q", why, DefaultReason)
	}

	m2 := newTestManager(t, Options{Config: driver.Config{Opts: map[string]string{"check": "fail"}}})
	_, _, err = m2.Default(ctx)
	if !errors.Is(err, driver.ErrDaemonUnreachable) || !strings.Contains(err.Error(), "on holiday") {
		t.Errorf("Default with every check failing: %v", err)
	}
}

// TestDefaultWhyIsShort checks the reason the preflight summary shows on
// its one driver line when a higher-ranked driver cannot build: the rule
// and that driver's name, not its error.
func TestDefaultWhyIsShort(t *testing.T) {
	prio := func(n int) *int { return &n }
	probes := []Probe{
		{Descriptor: Descriptor{Name: "docker", BuiltIn: true, Verified: true, Priority: prio(10)}},
		{Descriptor: Descriptor{Name: "buildkit", BuiltIn: true, Verified: true, Priority: prio(20)},
			CheckErr: errors.New("build daemon unreachable: a long story\nover two lines")},
	}
	name, why, err := ChooseDefault(probes, nil)
	if err != nil || name != "docker" || why != DefaultReason+"; passed over buildkit" {
		t.Errorf("ChooseDefault = %q, %q, %v", name, why, err)
	}
}

func TestInstallListRemove(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	src := writeScript(t, t.TempDir(), BinaryName("inst"), "echo")
	in, err := m.Install(ctx, src, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Name != "inst" || in.Description == nil || in.Description.Name != "echo3p" || in.Description.Version != "3.1.4" || in.Description.Protocol != sdk.ProtocolVersion {
		t.Errorf("Install = %+v (%+v)", in, in.Description)
	}
	fi, err := os.Stat(in.Path)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed file: %v %v", fi, err)
	}
	if kids := children(t); len(kids) != 0 {
		t.Errorf("Install left its probe running: %v", kids)
	}
	// --name; a second install of a name is refused unless it replaces.
	if _, err := m.Install(ctx, src, InstallOptions{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []InstallOptions{{Name: "other"}, {}} {
		if _, err := m.Install(ctx, src, o); !errors.Is(err, ErrAlreadyInstalled) || !strings.Contains(err.Error(), "--force") {
			t.Errorf("Install(%+v) of an installed name = %v; want ErrAlreadyInstalled saying --force", o, err)
		}
	}
	if _, err := m.Install(ctx, src, InstallOptions{Name: "other", Replace: true}); err != nil {
		t.Fatal(err)
	}
	list, err := m.InstalledPlugins(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "inst" || list[1].Name != "other" || list[0].Problem != nil || list[0].SourceState != SourceSame {
		t.Fatalf("InstalledPlugins = %+v, %v", list, err)
	}
	os.WriteFile(list[1].Path, []byte("#!/bin/sh\necho changed\n"), 0o755)
	list, _ = m.InstalledPlugins(ctx)
	if !errors.Is(list[1].Problem, ErrChecksum) {
		t.Errorf("a changed plugin lists without a problem: %+v", list[1])
	}
	if err := m.Remove(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "other"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := os.Stat(list[1].Path); !os.IsNotExist(err) {
		t.Errorf("removed plugin's file is still there: %v", err)
	}
	b, err := m.Open(ctx, "inst")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Errorf("installed plugin: %v", err)
	}
	entries, _ := os.ReadDir(m.PluginsDir())
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") || strings.HasPrefix(e.Name(), ".install") {
			t.Errorf("temporary file left in the plugins folder: %s", e.Name())
		}
	}
}

func TestInstallRefusesBadInput(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	notPlugin := writeScript(t, t.TempDir(), "frob", "not-a-plugin")
	v2 := writeScript(t, t.TempDir(), BinaryName("v2"), "v2")
	good := writeScript(t, t.TempDir(), BinaryName("good"), "echo")
	tests := []struct {
		src, name string
		is        error
		has       string
	}{
		{notPlugin, "frob", ErrBadPlugin, "is not a claude-bottle driver plugin"},
		{v2, "", ErrBadPlugin, "protocol version 2"},
		{good, testDriver, ErrInvalidName, "a built-in driver has that name"},
		{good, "Bad/Name", ErrInvalidName, "lowercase"},
		{t.TempDir(), "dir", ErrBadPlugin, "not a regular file"},
		{filepath.Join(t.TempDir(), "missing"), "missing", ErrBadPlugin, "no such file"},
	}
	for _, tc := range tests {
		_, err := m.Install(ctx, tc.src, InstallOptions{Name: tc.name})
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.has) {
			t.Errorf("Install(%s, %q) = %v; want %v saying %q", tc.src, tc.name, err, tc.is, tc.has)
		}
	}
	if list, _ := m.InstalledPlugins(ctx); len(list) != 0 {
		t.Errorf("refused installs left entries: %+v", list)
	}
}

// TestUpgradeFromTheSourceFile: list says when the file a plugin was
// installed from changed or went, and Upgrade installs the new one.
func TestUpgradeFromTheSourceFile(t *testing.T) {
	ctx := testCtx(t)
	m := newTestManager(t, Options{})
	src := writeScript(t, t.TempDir(), BinaryName("up"), "echo")
	before, err := m.Install(ctx, src, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		t.Helper()
		list, err := m.InstalledPlugins(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("InstalledPlugins = %+v, %v", list, err)
		}
		return list[0].SourceState
	}
	if s := state(); s != SourceSame {
		t.Errorf("fresh install: source %q", s)
	}
	script, _ := os.ReadFile(src)
	os.WriteFile(src, append(script, "# a new build\n"...), 0o755)
	if s := state(); s != SourceChanged {
		t.Errorf("after the source changed: %q, want %q", s, SourceChanged)
	}
	after, err := m.Upgrade(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	if after.SHA256 == before.SHA256 || state() != SourceSame {
		t.Errorf("Upgrade: sha256 %s -> %s, source %q", before.SHA256, after.SHA256, state())
	}
	b, err := m.Open(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Errorf("the upgraded plugin does not start: %v", err)
	}
	os.Remove(src)
	if s := state(); s != SourceMissing {
		t.Errorf("after the source went: %q", s)
	}
	if _, err := m.Upgrade(ctx, "up"); err == nil || !strings.Contains(err.Error(), src) {
		t.Errorf("Upgrade without its source file = %v, want an error naming it", err)
	}
	if _, err := m.Upgrade(ctx, "nope"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Upgrade of a plugin not installed = %v", err)
	}
}

func TestProbeAllRunsNoPathPlugin(t *testing.T) {
	ctx := testCtx(t)
	bin := t.TempDir()
	os.Chmod(bin, 0o755)
	marker := filepath.Join(t.TempDir(), "ran")
	script := fmt.Sprintf("#!/bin/sh\ntouch %q\nCB_TEST_PLUGIN=echo exec %q \"$@\"\n", marker, testSelf(t))
	if err := os.WriteFile(filepath.Join(bin, BinaryName("onpath")), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	m := newTestManager(t, Options{})
	probes, err := m.ProbeAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probes {
		if p.Name == "onpath" && (!p.NotRun || p.Ready()) {
			t.Errorf("PATH plugin probed: %+v", p)
		}
		if p.Name == testDriver && p.Source == SourceBuiltin && !p.Ready() {
			t.Errorf("built-in not probed: %+v", p)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("ProbeAll ran a plugin found on PATH")
	}
	if p := m.Probe(ctx, "onpath"); !p.Ready() {
		t.Fatalf("a PATH plugin named explicitly must run: %+v", p)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("Probe of a named PATH plugin did not run it")
	}
}

func TestPathFolderGroupWritableRefused(t *testing.T) {
	bin := t.TempDir()
	os.Chmod(bin, 0o775)
	writeScript(t, bin, BinaryName("onpath"), "echo")
	t.Setenv("PATH", bin)
	ds := pathDescriptors(map[string]string{})
	if len(ds) != 1 || ds[0].Err == nil || !strings.Contains(ds[0].Err.Error(), "writable by other users (mode 0775)") {
		t.Fatalf("a group-writable PATH folder is accepted: %+v", ds)
	}
}
