package allow

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"testing"
)

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestParseRule(t *testing.T) {
	var cases []struct {
		In, Want string
		Err      bool
	}
	readJSON(t, "rules.json", &cases)
	for _, c := range cases {
		r, err := ParseRule(c.In)
		switch {
		case c.Err && err == nil:
			t.Errorf("ParseRule(%q) = %v, want an error", c.In, r)
		case c.Err && !errors.Is(err, ErrBadRule):
			t.Errorf("ParseRule(%q): error %v is not ErrBadRule", c.In, err)
		case !c.Err && err != nil:
			t.Errorf("ParseRule(%q): %v", c.In, err)
		case !c.Err && r.String() != c.Want:
			t.Errorf("ParseRule(%q) = %q, want %q", c.In, r, c.Want)
		}
	}
}

func TestClassify(t *testing.T) {
	for s, want := range map[string]Class{
		"8.8.8.8": Public, "2606:4700::1111": Public,
		"127.0.0.1": Private, "10.0.0.1": Private, "172.17.0.1": Private, "192.168.1.1": Private,
		"100.64.0.1": Private, "::1": Private, "fd12::1": Private, "::ffff:127.0.0.1": Private,
		"169.254.169.254": Never, "fe80::1": Never, "0.0.0.0": Never, "255.255.255.255": Never,
		"224.0.0.1": Never, "ff02::1": Never, "::": Never, "100.100.100.200": Never,
	} {
		if got := Classify(netip.MustParseAddr(s)); got != want {
			t.Errorf("Classify(%s) = %d, want %d", s, got, want)
		}
	}
}
