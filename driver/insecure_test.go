package driver

import (
	"errors"
	"strings"
	"testing"
)

func TestEngineCleartext(t *testing.T) {
	cases := []struct {
		host, tls string
		want      bool
	}{
		{"tcp://10.0.0.1:2375", "", true},
		{"http://h:2375", "", true},
		{"tcp://h:2376", "1", false},
		{"unix:///var/run/docker.sock", "", false},
		{"ssh://me@h", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		env := func(k string) string {
			if k == "DOCKER_TLS_VERIFY" {
				return c.tls
			}
			return ""
		}
		if got := EngineCleartext(c.host, env); got != c.want {
			t.Errorf("EngineCleartext(%q, tls=%q) = %v", c.host, c.tls, got)
		}
	}
}

func TestCheckExposure(t *testing.T) {
	t.Setenv("DOCKER_TLS_VERIFY", "")
	t.Setenv("BUILDKIT_HOST", "")
	plain := Config{DockerHost: "tcp://h:2375"}
	req := Request{Secrets: []SecretSpec{{ID: "x"}}, SSH: []SSHSpec{{ID: "default"}}}
	err := CheckExposure(plain, req)
	if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "--secret and --ssh refused") {
		t.Errorf("secrets over plain TCP: %v", err)
	}
	if err := CheckExposure(plain, Request{}); err != nil {
		t.Errorf("no secrets over plain TCP: %v", err)
	}
	if err := CheckExposure(Config{DockerHost: "unix:///s"}, req); err != nil {
		t.Errorf("secrets over a unix socket: %v", err)
	}
	bk := Config{BuildKitAddr: "tcp://b:1234", BuildKitInsecure: true}
	if err := CheckExposure(bk, req); err == nil {
		t.Error("secrets to a BuildKit over plain TCP accepted")
	}
}
