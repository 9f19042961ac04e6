package buildkit

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

func TestParseEndpoint(t *testing.T) {
	tlsFiles := driver.TLSConfig{CA: "ca.pem", Cert: "c.pem", Key: "k.pem"}
	tests := []struct {
		name     string
		cfg      driver.Config
		wantKind kind
		wantAddr string
		wantErr  error
		errSays  string
	}{
		{"empty is the engine", driver.Config{}, kindEngine, "", nil, ""},
		{"unix", driver.Config{BuildKitAddr: "unix:///run/buildkit/buildkitd.sock"}, kindUnix, "unix:///run/buildkit/buildkitd.sock", nil, ""},
		{"unix without path", driver.Config{BuildKitAddr: "unix://"}, 0, "", driver.ErrInvalidRequest, "unix:///PATH"},
		{"tcp with tls", driver.Config{BuildKitAddr: "tcp://127.0.0.1:1234", BuildKitTLS: tlsFiles}, kindTCP, "tcp://127.0.0.1:1234", nil, ""},
		{"tcp insecure allowed", driver.Config{BuildKitAddr: "tcp://127.0.0.1:1234", BuildKitInsecure: true}, kindTCP, "tcp://127.0.0.1:1234", nil, ""},
		{"tcp without tls refused", driver.Config{BuildKitAddr: "tcp://127.0.0.1:1234"}, 0, "", driver.ErrInvalidRequest, "--buildkit-insecure"},
		{"docker-container", driver.Config{BuildKitAddr: "docker-container://buildx_buildkit_default"}, kindContainer, "buildx_buildkit_default", nil, ""},
		{"docker-container without name", driver.Config{BuildKitAddr: "docker-container://"}, 0, "", driver.ErrInvalidRequest, "NAME"},
		{"not a url", driver.Config{BuildKitAddr: "buildkitd.sock"}, 0, "", driver.ErrInvalidRequest, "not a URL"},
		{"unknown scheme", driver.Config{BuildKitAddr: "ssh://host"}, 0, "", driver.ErrUnsupported, "ssh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := parseEndpoint(tt.cfg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errSays) {
					t.Fatalf("err = %v, want %v saying %q", err, tt.wantErr, tt.errSays)
				}
				return
			}
			if err != nil || ep.kind != tt.wantKind || ep.addr != tt.wantAddr {
				t.Fatalf("parseEndpoint = %+v, %v; want kind %d addr %q", ep, err, tt.wantKind, tt.wantAddr)
			}
		})
	}
}

func TestRegistered(t *testing.T) {
	f, err := driver.Lookup(Name)
	if err != nil {
		t.Fatal(err)
	}
	if f.Priority != 20 || f.Usage == "" {
		t.Errorf("factory = %+v", f)
	}
	// New contacts nothing: an address nobody listens on still makes a
	// Builder, and Info answers without a daemon.
	b, err := f.New(context.Background(), driver.Config{BuildKitAddr: "unix:///nonexistent/buildkitd.sock"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.(driver.Closer).Close()
	info, err := b.Info(context.Background())
	if err != nil || info.Name != Name || !strings.HasPrefix(info.Version, "v0.") || info.Endpoint != "unix:///nonexistent/buildkitd.sock" {
		t.Errorf("Info = %+v, %v", info, err)
	}
	if !info.Supports(driver.FeaturePush) || !info.Supports(driver.FeatureMultiPlatform) || !info.Supports(driver.FeatureCacheExport) {
		t.Errorf("standalone features = %v", info.Features)
	}
	eng, _ := New(context.Background(), driver.Config{})
	info, _ = eng.Info(context.Background())
	if info.Supports(driver.FeaturePush) || info.Supports(driver.FeatureCacheExport) || len(info.Notes) == 0 {
		t.Errorf("engine Info = %+v, want no push, no cache export but inline, and notes on its limits", info)
	}
}

func TestClosedBuilder(t *testing.T) {
	b, _ := New(context.Background(), driver.Config{BuildKitAddr: "unix:///nonexistent.sock"})
	b.(driver.Closer).Close()
	if err := b.Check(context.Background()); !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("Check after Close: %v", err)
	}
}

func TestClientVersionMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Skipf("no go.mod beside the package: %v", err)
	}
	if !strings.Contains(string(data), "github.com/moby/buildkit "+clientVersion+" ") &&
		!strings.Contains(string(data), "github.com/moby/buildkit "+clientVersion+"\n") {
		t.Errorf("clientVersion %q is not the github.com/moby/buildkit version in go.mod: update it", clientVersion)
	}
}
