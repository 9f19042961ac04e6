package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestChooseDefault(t *testing.T) {
	prio := func(n int) *int { return &n }
	builtin := func(name string, p int, check error) Probe {
		return Probe{Descriptor: Descriptor{Name: name, Source: SourceBuiltin, BuiltIn: true, Verified: true, Priority: prio(p)}, CheckErr: check}
	}
	plugin := func(name string, p *int, verified bool, check error) Probe {
		src := SourceInstalled
		if !verified {
			src = SourcePath
		}
		return Probe{Descriptor: Descriptor{Name: name, Source: src, Verified: verified}, Description: Description{Priority: p}, CheckErr: check}
	}
	down := fmt.Errorf("%w: no engine", driver.ErrDaemonUnreachable)
	missing := fmt.Errorf("%w: buildah is not installed", driver.ErrUnsupported)
	tests := []struct {
		name    string
		probes  []Probe
		want    string
		errHas  []string // the error names each driver passed over
		skipped string   // logged as passed over
	}{
		{"highest priority", []Probe{builtin("docker", 10, nil), builtin("buildkit", 20, nil)}, "buildkit", nil, ""},
		{"first that can build", []Probe{builtin("buildkit", 20, down), builtin("docker", 10, nil)}, "docker", nil, "buildkit: build daemon unreachable: no engine"},
		{"declared priority above the built-ins", []Probe{builtin("buildkit", 20, nil), plugin("high", prio(30), true, nil)}, "high", nil, ""},
		{"no priority ranks below the built-ins", []Probe{plugin("low", nil, true, nil), builtin("docker", 10, nil)}, "docker", nil, ""},
		{"built-in first among equals", []Probe{plugin("same", prio(20), true, nil), builtin("buildkit", 20, nil)}, "buildkit", nil, ""},
		{"never an unverified plugin", []Probe{plugin("onpath", prio(99), false, nil), builtin("docker", 10, nil)}, "docker", nil, ""},
		{"never an unusable one", []Probe{{Descriptor: Descriptor{Name: "bad", Verified: true, Priority: prio(99), Err: errors.New("refused")}}, builtin("docker", 10, nil)}, "docker", nil, ""},
		{"none can build", []Probe{builtin("buildkit", 20, down), plugin("buildah", nil, true, missing)}, "",
			[]string{"no driver can build here", "buildkit: build daemon unreachable: no engine", "buildah: unsupported by this driver: buildah is not installed"}, ""},
		{"none at all", []Probe{plugin("onpath", nil, false, nil)}, "", []string{"no build driver is available"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			name, why, err := ChooseDefault(tc.probes, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
			if tc.want == "" {
				// One class, whatever the drivers' own: a ErrUnsupported
				// check must not make "nothing can build here" bad input.
				if !errors.Is(err, driver.ErrDaemonUnreachable) || errors.Is(err, driver.ErrUnsupported) {
					t.Fatalf("ChooseDefault = %q, %v; want only a driver.ErrDaemonUnreachable", name, err)
				}
				for _, w := range tc.errHas {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			wantWhy := DefaultReason
			if tc.skipped != "" {
				passed, _, _ := strings.Cut(tc.skipped, ":")
				wantWhy += "; passed over " + passed
			}
			if err != nil || name != tc.want || why != wantWhy {
				t.Fatalf("ChooseDefault = %q, %q, %v; want %q, %q", name, why, err, tc.want, wantWhy)
			}
			if tc.skipped != "" && !strings.Contains(log.String(), tc.skipped) {
				t.Errorf("debug log lacks the driver passed over (%q):\n%s", tc.skipped, log.String())
			}
			if tc.skipped == "" && log.Len() > 0 {
				t.Errorf("logged with nothing passed over: %s", log.String())
			}
		})
	}
}
