package main

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestRunEnvKeepsCredentialsOut(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-host-secret")
	t.Setenv("FOO", "bar")
	env, err := runEnv([]string{"FOO", "X=1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(env, []string{"FOO=bar", "X=1"}) {
		t.Errorf("runEnv = %q, want only the --env values", env)
	}
	for _, flag := range []string{"ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY=sk-x", "ANTHROPIC_AUTH_TOKEN=t"} {
		_, err := runEnv([]string{flag})
		if err == nil || exitCode(context.Background(), err) != 2 || !strings.Contains(err.Error(), "never enter a bottle") {
			t.Errorf("--env %s: %v, want a usage error saying credentials never enter a bottle", flag, err)
		}
	}
}
