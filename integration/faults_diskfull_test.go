//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

// smallDisk mounts a tmpfs of size (like "64k") on a new folder and
// returns the folder; it is unmounted when t ends.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "mounting a small tmpfs to fill needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0700"); err != nil {
		testenv.Unavailable(t, "cannot mount a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// paddedDockerfile is a valid Dockerfile of about n bytes whose every line
// names version v, so a mix of two versions is seen.
func paddedDockerfile(v string, n int) string {
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	for b.Len() < n {
		b.WriteString("# version " + v + " padding padding padding padding padding\n")
	}
	b.WriteString("LABEL version=" + v + "\n")
	return b.String()
}

// TestFaultDiskFullDockerfile runs `state set-dockerfile` on a state root
// that has no room for the new Dockerfile: exit 1, the error says the
// disk is full, the old Dockerfile is whole, and no temporary file is
// left to hold the space.
func TestFaultDiskFullDockerfile(t *testing.T) {
	scenario(t)
	c := newFCLI(t)
	c.setHome(filepath.Join(smallDisk(t, "64k"), "home"))
	old := paddedDockerfile("old", 6<<10)
	c.setOverride("full", old)
	before := treeDigest(t, c.home)

	big := filepath.Join(t.TempDir(), "big.Dockerfile")
	if err := os.WriteFile(big, []byte(paddedDockerfile("new", 80<<10)), 0o644); err != nil {
		t.Fatal(err)
	}
	res := c.run(30*time.Second, "state", "set-dockerfile", "full", big)
	wantError(t, "set-dockerfile on a full disk", 1, res.Stderr, res.ExitCode, "the disk is full", "free some space")
	if got := readFile(t, filepath.Join(c.home, "state", "full", "Dockerfile")); got != old {
		t.Errorf("after the failed write the Dockerfile is %d bytes, want the old %d whole", len(got), len(old))
	}
	if after := treeDigest(t, c.home); after != before {
		t.Errorf("the failed write changed the state root:\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(0)
	// Nothing holds the space: a Dockerfile that fits is written.
	c.setOverride("full", paddedDockerfile("later", 6<<10))
}

// TestFaultDiskFullTranscript launches a bottle whose transcript does not
// fit in the state root: the bottle's exit code is kept, claude-bottle
// says the transcript was not saved because the disk is full, and the
// previous snapshot is left exactly as it was.
func TestFaultDiskFullTranscript(t *testing.T) {
	scenario(t)
	testenv.RequireDocker(t)
	c := newFCLI(t)
	c.setHome(filepath.Join(smallDisk(t, "256k"), "home"))
	repo := faultRepo(t, nil)
	slug := faultSlug(t, "fulltr")
	t.Cleanup(func() { testenv.DockerOut("rm", "-f", "claude-bottle-"+slug) })
	c.setOverride(slug, testenv.BusyboxDockerfile+"RUN mkdir -p /home/node/.claude\n")
	launch := []string{"launch", slug, "--repo", repo, "--driver", "buildkit", "--progress", "quiet"}
	res := c.must(0, append(launch, "--", "sh", "-c", "echo first > /home/node/.claude/memo")...)
	wantContains(t, "first launch", res.Stderr, "transcript saved: 1 files")
	transcript := filepath.Join(c.home, "state", slug, "transcript")
	before := treeDigest(t, filepath.Join(c.home, "state", slug))

	res = c.must(0, append(launch, "--no-build", "--", "sh", "-c",
		"echo second > /home/node/.claude/memo; head -c 400000 /dev/zero > /home/node/.claude/big; echo agent-done")...)
	wantContains(t, "launch with a full disk", res.Stdout, "agent-done")
	wantContains(t, "launch with a full disk", res.Stderr, "transcript not saved (the previous snapshot is kept)")
	wantContains(t, "launch with a full disk", res.Stderr, "the disk is full")
	if got := readFile(t, filepath.Join(transcript, "memo")); got != "first\n" {
		t.Errorf("after the failed snapshot the memo is %q, want the first snapshot's", got)
	}
	if after := treeDigest(t, filepath.Join(c.home, "state", slug)); after != before {
		t.Errorf("the failed snapshot changed the bottle's state:\n%s\nwas\n%s", after, before)
	}
	c.noLeaks(5 * time.Second)
}
