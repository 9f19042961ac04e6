package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
)

// TestResolvePool: the file's pool takes each member's own TLS files over
// the global ones; two --buildkit-addr flags replace it; one flag or
// $BUILDKIT_HOST means one daemon and no pool.
func TestResolvePool(t *testing.T) {
	root := t.TempDir()
	data, err := os.ReadFile(filepath.Join("testdata", "pool.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	global := driver.TLSConfig{CA: "/certs/ca.pem", Cert: "/certs/cert.pem", Key: "/certs/key.pem"}
	s, err := Resolve(root, Flags{}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []PoolMember{
		{Addr: "tcp://bk1.internal:1234", TLS: global},
		{Addr: "tcp://bk2.internal:1234", TLS: driver.TLSConfig{CA: "/certs/bk2-ca.pem", Cert: "/certs/cert.pem", Key: "/certs/key.pem", ServerName: "bk2"}},
		{Addr: "unix:///run/buildkit/buildkitd.sock", TLS: global},
	}
	if !reflect.DeepEqual(s.Pool, want) || s.Cache != "registry.internal:5000/claude-bottle/cache" {
		t.Fatalf("pool = %+v, cache %q", s.Pool, s.Cache)
	}
	if !strings.HasPrefix(s.PoolFrom, filepath.Join(root, FileName)+":6") {
		t.Errorf("PoolFrom = %q", s.PoolFrom)
	}
	if c := s.MemberConfig(s.Pool[1]); c.BuildKitAddr != "tcp://bk2.internal:1234" || c.BuildKitTLS.CA != "/certs/bk2-ca.pem" {
		t.Errorf("member config = %+v", c)
	}

	s, _ = Resolve(root, Flags{BuildKitPool: []string{"unix:///a", "unix:///b"}}, noEnv)
	if len(s.Pool) != 2 || s.Pool[1].Addr != "unix:///b" || s.Pool[1].TLS != global || s.PoolFrom != "--buildkit-addr" {
		t.Errorf("flag pool = %+v from %q", s.Pool, s.PoolFrom)
	}
	for _, bad := range [][]string{{"unix:///a", "http://b"}, {"unix:///a", "unix:///a"}} {
		if _, err := Resolve(root, Flags{BuildKitPool: bad}, noEnv); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--buildkit-addr") {
			t.Errorf("flags %v: %v", bad, err)
		}
	}
	s, _ = Resolve(root, Flags{BuildKitAddr: "unix:///one"}, noEnv)
	if s.Pool != nil || s.DriverConfig.BuildKitAddr != "unix:///one" {
		t.Errorf("one --buildkit-addr: pool %+v, addr %q", s.Pool, s.DriverConfig.BuildKitAddr)
	}
	s, _ = Resolve(root, Flags{}, func(k string) string {
		if k == "BUILDKIT_HOST" {
			return "unix:///env"
		}
		return ""
	})
	if s.Pool != nil || s.DriverConfig.BuildKitAddr != "unix:///env" {
		t.Errorf("$BUILDKIT_HOST: pool %+v, addr %q", s.Pool, s.DriverConfig.BuildKitAddr)
	}
}
