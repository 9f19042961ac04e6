// Package sdktest tests a claude-bottle driver plugin as claude-bottle
// runs it. Start installs a plugin binary (BuildPlugin builds it from
// source) into a temporary state root and drives it through the real host
// (checksum, start, handshake, crash handling included); InProcess serves a
// sdk.Plugin in the test's own process over the same gRPC protocol, for
// fast tests and debuggers; Conformance checks, with real builds where the
// driver can make them, what claude-bottle needs of every driver.
package sdktest

import (
	"context"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins"
	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
	"github.com/claude-bottle/claude-bottle/plugins/sdk"
)

// Host is a real claude-bottle host running one installed plugin.
type Host struct {
	// Name is the driver's name.
	Name string
	// Path is the installed copy of the plugin binary.
	Path string
	// SHA256 is the checksum recorded for it at install.
	SHA256 string
	// Description is what the plugin said of itself at install, with the
	// protocol version the host negotiated.
	Description sdk.Description
}

// Start installs the plugin binary at path into a temporary state root,
// as `claude-bottle plugin install` does, and returns a host over it and
// the driver as a Builder. Everything stops when t ends.
func Start(t testing.TB, path string, cfg driver.Config) (*Host, driver.Builder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Close waits for go-plugin's goroutines that read the plugin's
	// output; the gate stops any other from logging after the test.
	gate := &wire.LogGate{}
	m := plugins.NewManager(plugins.Options{Home: t.TempDir(), Config: cfg, Logger: gate.Wrap(cfg.Log())})
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("stopping the plugin: %v", err)
		}
		gate.ShutDown()
	})
	in, err := m.Install(ctx, path, plugins.InstallOptions{})
	if err != nil {
		t.Fatalf("installing %s: %v", path, err)
	}
	b, err := m.Open(ctx, in.Name)
	if err != nil {
		t.Fatalf("opening driver %q: %v", in.Name, err)
	}
	h := &Host{Name: in.Name, Path: in.Path, SHA256: in.SHA256}
	if d := in.Description; d != nil {
		h.Description = sdk.Description{Name: d.Name, Version: d.Version, Usage: d.Usage, Priority: d.Priority, SDKVersion: d.SDKVersion, Protocol: d.Protocol}
	}
	return h, b
}

// InProcess serves p in the test's process and returns it as a Builder
// reached over the plugin protocol. It stops when t ends.
func InProcess(t testing.TB, p sdk.Plugin, cfg driver.Config) driver.Builder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, stop, err := sdk.InProcess(ctx, p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop() })
	return b
}
