package inbottle

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestInitArgs(t *testing.T) {
	o := InitOptions{UID: 1000, GID: 1001, UserName: "me", ImageUser: "node", ImageHome: "/home/node", Proxy: true,
		Argv: []string{"claude", "--", "-p", "a b"}}
	want := []string{"init", "--uid=1000", "--gid=1001", "--user-name=me", "--image-user=node", "--image-home=/home/node", "--proxy",
		"--", "claude", "--", "-p", "a b"}
	if got := o.Args(); !slices.Equal(got, want) {
		t.Fatalf("Args =\n%q\nwant\n%q", got, want)
	}
	back, err := ParseInitArgs(want[1:])
	if err != nil || !reflect.DeepEqual(back, o) {
		t.Errorf("ParseInitArgs = %+v, %v; want %+v", back, err, o)
	}
	minimal := InitOptions{Argv: []string{"sh"}}
	if got := minimal.Args(); !slices.Equal(got, []string{"init", "--uid=0", "--gid=0", "--", "sh"}) {
		t.Errorf("minimal Args = %q", got)
	}
}

func TestParseInitArgsRefuses(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--uid=1", "--gid=1"},             // no --
		{"--uid=1", "--gid=1", "--"},       // no command
		{"--gid=1", "--", "sh"},            // no uid
		{"--uid=1", "--gid=x", "--", "sh"}, // not a number
		{"--uid=1", "--gid=1", "--bogus", "--", "sh"},
		{"--uid=1", "--gid=1", "stray", "--", "sh"},
	} {
		if o, err := ParseInitArgs(args); !errors.Is(err, ErrInitUsage) {
			t.Errorf("ParseInitArgs(%q) = %+v, %v; want ErrInitUsage", args, o, err)
		}
	}
}

func TestAgentEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "HOME=/", "HTTP_PROXY=http://corp:8080", "no_proxy=corp", "K=a=b", "ANTHROPIC_BASE_URL=x"}
	tests := []struct {
		name  string
		proxy bool
		want  []string
	}{
		{"no network: the forwarder is the proxy", true, []string{"PATH=/usr/bin", "K=a=b", "ANTHROPIC_BASE_URL=x", "HOME=/home/node",
			"HTTP_PROXY=http://127.0.0.1:3128", "HTTPS_PROXY=http://127.0.0.1:3128", "http_proxy=http://127.0.0.1:3128", "https_proxy=http://127.0.0.1:3128",
			"NO_PROXY=localhost,127.0.0.1", "no_proxy=localhost,127.0.0.1"}},
		{"open network: proxies left as given", false, []string{"PATH=/usr/bin", "HTTP_PROXY=http://corp:8080", "no_proxy=corp", "K=a=b", "ANTHROPIC_BASE_URL=x", "HOME=/home/node"}},
	}
	for _, tc := range tests {
		got := AgentEnv(environ, "/home/node", tc.proxy)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		for _, kv := range got {
			if strings.HasPrefix(kv, "HOME=") && kv != "HOME=/home/node" {
				t.Errorf("%s: a second HOME %q", tc.name, kv)
			}
		}
	}
}
