package buildkit

import (
	"context"
	"errors"
	"testing"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/session/secrets"
)

type fixedSecrets map[string]string

func (f fixedSecrets) Secret(_ context.Context, id string) ([]byte, error) {
	if v, ok := f[id]; ok {
		return []byte(v), nil
	}
	return nil, driver.ErrNotFound
}

func TestSecretStore(t *testing.T) {
	req := driver.Request{
		Secrets:      []driver.SecretSpec{{ID: "token"}, {ID: "missing"}},
		SecretSource: fixedSecrets{"token": "v1", "unnamed": "v2"},
	}
	s := secretStore{req: req}
	if v, err := s.GetSecret(context.Background(), "token"); err != nil || string(v) != "v1" {
		t.Errorf("token = %q, %v", v, err)
	}
	// A secret the request did not name is not served, even if the source has it.
	if _, err := s.GetSecret(context.Background(), "unnamed"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("unnamed secret: err = %v, want secrets.ErrNotFound", err)
	}
	if _, err := s.GetSecret(context.Background(), "missing"); !errors.Is(err, secrets.ErrNotFound) || !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("missing secret: err = %v, want both not-found classes", err)
	}
}

func TestAttachables(t *testing.T) {
	a, err := attachables(driver.Request{}, true)
	if err != nil || len(a) != 1 {
		t.Fatalf("plain request: %d attachables, %v; want the auth provider only", len(a), err)
	}
	_, err = attachables(driver.Request{Secrets: []driver.SecretSpec{{ID: "x"}}}, true)
	if !errors.Is(err, driver.ErrInvalidRequest) {
		t.Errorf("secrets without a source: err = %v", err)
	}
	a, err = attachables(driver.Request{Secrets: []driver.SecretSpec{{ID: "x"}}, SecretSource: fixedSecrets{},
		SSH: []driver.SSHSpec{{ID: "default", Paths: []string{"testdata/no-such-agent.sock"}}}}, true)
	if err == nil {
		t.Errorf("ssh with a missing key or socket: want an error, got %d attachables", len(a))
	}
}

// TestNoRegistryCredentialsOnCleartext: without auth the session offers
// no credentials provider at all.
func TestNoRegistryCredentialsOnCleartext(t *testing.T) {
	with, err := attachables(driver.Request{}, true)
	if err != nil {
		t.Fatal(err)
	}
	without, err := attachables(driver.Request{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(with) != 1 || len(without) != 0 {
		t.Errorf("attachables: %d with auth, %d without; want 1 and 0", len(with), len(without))
	}
}
