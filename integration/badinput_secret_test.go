//go:build linux

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// secretDockerfile hashes the secret tok in a RUN, so the test can prove
// the step saw it, and that the layer scan sees the file it wrote. BuildKit
// leaves secrets out of cache keys, so a nonce step keeps one test's RUN
// from being another's cache hit.
func secretDockerfile(nonce string) string {
	return testenv.BusyboxDockerfile + "RUN echo " + nonce + " > /nonce\n" +
		"RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sha256\n"
}

// TestBadInputSecrets builds with --secret (from a file and from an
// environment variable) with each driver: the RUN sees the secret, and no
// layer, config or history entry of the saved image, no output of
// claude-bottle and no file of its state holds it.
func TestBadInputSecrets(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, d := range badDrivers {
		for _, from := range []string{"src", "env"} {
			t.Run(d.name+"/"+from, func(t *testing.T) {
				scenario(t)
				c := newFCLI(t)
				slug := faultSlug(t, "secret")
				tag := "claude-bottle-rebuilt-" + slug + ":latest"
				c.setOverride(slug, secretDockerfile(slug))
				secret := "s3cr3t-" + randHex(12)
				flag := "id=tok,env=CB_FAULT_SECRET"
				if from == "env" {
					c.env = append(c.env, "CB_FAULT_SECRET="+secret)
				} else {
					file := filepath.Join(t.TempDir(), "tok")
					if err := os.WriteFile(file, []byte(secret), 0o600); err != nil {
						t.Fatal(err)
					}
					flag = "id=tok,src=" + file
				}
				meta := filepath.Join(t.TempDir(), "meta.json")
				args := append([]string{"build", slug, "--repo", repo, "--secret", flag, "--metadata-file", meta, "--progress", "plain"}, d.args(t)...)
				res := c.must(0, args...)
				sum := sha256.Sum256([]byte(secret))
				if got := testenv.RunImage(t, tag, "cat", "/tok.sha256"); got != hex.EncodeToString(sum[:]) {
					t.Fatalf("the RUN saw a secret hashing to %q, want %x", got, sum)
				}
				if !imageContains(t, tag, []byte(hex.EncodeToString(sum[:]))) {
					t.Fatal("the image scan cannot see the layer file /tok.sha256: it would miss the secret too")
				}
				if imageContains(t, tag, []byte(secret)) {
					t.Errorf("the saved image %s (a layer, its config or its history) holds the secret", tag)
				}
				if strings.Contains(res.Stdout+res.Stderr, secret) {
					t.Errorf("claude-bottle printed the secret")
				}
				if strings.Contains(readFile(t, meta), secret) {
					t.Errorf("the metadata file holds the secret")
				}
				if treeHolds(t, c.home, secret) {
					t.Errorf("the state root holds the secret")
				}
				c.noLeaks(5 * time.Second)
			})
		}
	}
}

// TestBadInputMissingSecret names a secret file that does not exist:
// every driver refuses it as bad input (exit 2) naming the file, and
// builds nothing.
func TestBadInputMissingSecret(t *testing.T) {
	testenv.RequireDocker(t)
	repo := faultRepo(t, nil)
	for _, d := range badDrivers {
		t.Run(d.name, func(t *testing.T) {
			scenario(t)
			c := newFCLI(t)
			slug := faultSlug(t, "nosecret")
			c.setOverride(slug, secretDockerfile(slug))
			missing := filepath.Join(t.TempDir(), "no-such-token")
			res := c.run(2*time.Minute, append([]string{"build", slug, "--repo", repo, "--secret", "id=tok,src=" + missing, "--progress", "quiet"}, d.args(t)...)...)
			t.Logf("exit %d: %.300s", res.ExitCode, errorLine(res.Stderr))
			if res.ExitCode == 0 {
				t.Fatal("the build ran without its secret")
			}
			if id := imageID("claude-bottle-rebuilt-" + slug + ":latest"); id != "" {
				t.Errorf("the build without its secret tagged %s", id)
			}
			c.noLeaks(5 * time.Second)
			wantError(t, "build with a missing secret file", 2, res.Stderr, res.ExitCode, `secret "tok"`, missing, "no such file")
		})
	}
}

// treeHolds reports whether any regular file under root holds needle.
func treeHolds(t *testing.T, root string, needle string) bool {
	t.Helper()
	found := false
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), needle) {
				found = true
			}
		}
		return nil
	})
	return found
}
