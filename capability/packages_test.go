package capability

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectPackageManager: each testdata/packages/M-*.Dockerfile is
// detected as M; unknown-* are refused naming the base and --run.
func TestDetectPackageManager(t *testing.T) {
	files, _ := filepath.Glob("testdata/packages/*.Dockerfile")
	if len(files) < 10 {
		t.Fatalf("only %d package cases", len(files))
	}
	for _, f := range files {
		want, _, _ := strings.Cut(filepath.Base(f), "-")
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, err := DetectPackageManager("the base "+f, readFile(t, f))
			if want == "unknown" {
				if !errors.Is(err, ErrUnknownPackageManager) || !strings.Contains(err.Error(), f) || !strings.Contains(err.Error(), "--run") {
					t.Fatalf("DetectPackageManager = %q, %v; want ErrUnknownPackageManager naming the base and --run", got, err)
				}
				return
			}
			if err != nil || string(got) != want {
				t.Fatalf("DetectPackageManager = %q, %v; want %s", got, err, want)
			}
		})
	}
}

func TestInstallInstructions(t *testing.T) {
	for m, want := range map[PackageManager]string{
		APT: "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends jq libc6:amd64 && rm -rf /var/lib/apt/lists/*\n",
		APK: "RUN apk add --no-cache jq libc6:amd64\n",
		DNF: "RUN dnf install -y jq libc6:amd64 && dnf clean all\n",
	} {
		got, err := InstallInstructions(m, []string{"jq", "libc6:amd64"})
		if err != nil || got != want {
			t.Errorf("%s: %q, %v", m, got, err)
		}
		if c := layer("p", got); c.Validate() != nil {
			err := c.Validate()
			t.Errorf("%s: the rendered install does not validate: %v", m, err)
		}
	}
}

// TestHostilePackageNames: a package name ends up in a shell command, so
// anything but a plain name is refused.
func TestHostilePackageNames(t *testing.T) {
	for _, bad := range []string{"", "-oAPT::Get::AllowUnauthenticated=1", "jq;rm -rf /", "$(id)", "`id`", "jq bash", "jq\n", "jq&&x", "a|b", "../x", "jq'", "x>y", strings.Repeat("a", 200)} {
		if err := ValidatePackages([]string{"ok", bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidatePackages(%q) = %v; want ErrInvalid", bad, err)
		}
	}
	if err := ValidatePackages(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("no packages: %v", err)
	}
	for _, good := range []string{"jq", "libc6:amd64", "jq=1.6-2", "g++", "python3.12", "perl-Data-Dumper", "ca-certificates"} {
		if err := ValidatePackages([]string{good}); err != nil {
			t.Errorf("ValidatePackages(%q) = %v", good, err)
		}
	}
}
