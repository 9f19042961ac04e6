package capability

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottle"
	"github.com/claude-bottle/claude-bottle/state"
)

// PackageManager is the package manager of a base image, as --package
// renders its install command.
type PackageManager string

// Package managers --package knows.
const (
	APT PackageManager = "apt"
	APK PackageManager = "apk"
	DNF PackageManager = "dnf"
)

// packagePattern is a package name, optionally with an architecture
// (apt's name:arch) or a version (name=version); a name never starts with
// '-', so it cannot be taken for an option, and holds nothing a shell
// would read specially.
var packagePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.+_-]{0,127}(?::[a-z0-9]{1,16})?(?:=[A-Za-z0-9.+~:_-]{1,64})?$`)

// ValidatePackages checks package names against a strict pattern: a
// package name ends up in a shell command.
func ValidatePackages(pkgs []string) error {
	if len(pkgs) == 0 {
		return fmt.Errorf("%w: --package needs at least one package name", ErrInvalid)
	}
	for _, p := range pkgs {
		if !packagePattern.MatchString(p) {
			return fmt.Errorf("%w: package %q: a package name is letters, digits and . + _ -, not starting with -, optionally :arch or =version", ErrInvalid, truncate(p, 40))
		}
	}
	return nil
}

// InstallInstructions renders the RUN instruction that installs pkgs
// with m, cleaning the package lists in the same layer.
func InstallInstructions(m PackageManager, pkgs []string) (string, error) {
	if err := ValidatePackages(pkgs); err != nil {
		return "", err
	}
	list := strings.Join(pkgs, " ")
	switch m {
	case APT:
		return "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + list + " && rm -rf /var/lib/apt/lists/*\n", nil
	case APK:
		return "RUN apk add --no-cache " + list + "\n", nil
	case DNF:
		return "RUN dnf install -y " + list + " && dnf clean all\n", nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownPackageManager, m)
}

// runEvidence finds package manager commands in RUN lines.
var runEvidence = []struct {
	m  PackageManager
	re *regexp.Regexp
}{
	{APT, regexp.MustCompile(`(^|[\s;&|(])(apt-get|apt)\s+(-\S+\s+)*(install|update)\b`)},
	{APK, regexp.MustCompile(`(^|[\s;&|(])apk\s+(-\S+\s+)*(add|update)\b`)},
	{DNF, regexp.MustCompile(`(^|[\s;&|(])(dnf|microdnf|yum)\s+(-\S+\s+)*(install|update|makecache)\b`)},
}

// imageEvidence finds the package manager from an image name's last path
// component and tag.
var imageEvidence = []struct {
	m  PackageManager
	re *regexp.Regexp
}{
	{APK, regexp.MustCompile(`(^|[/:-])alpine\b|^(.*/)?alpine(:|$)`)},
	{DNF, regexp.MustCompile(`(^|/)(fedora|centos|rockylinux|almalinux|oraclelinux|amazonlinux|ubi[0-9]*(-minimal)?|ubi)(:|$)`)},
	{APT, regexp.MustCompile(`(^|/)(debian|ubuntu|buildpack-deps|node|python|golang|ruby|rust|openjdk|eclipse-temurin|php|perl|gcc|mcr\.microsoft\.com/devcontainers/[a-z]+)(:|$)`)},
}

// DetectPackageManager tells the package manager of a base Dockerfile:
// first from the package commands its final stage's RUN lines use (what
// the image is known to have), then from the image the final stage starts
// from. It returns ErrUnknownPackageManager, naming the base and what to
// do, when it cannot tell.
func DetectPackageManager(baseName string, base []byte) (PackageManager, error) {
	p, err := parseDockerfile(baseName, base)
	if err != nil {
		return "", err
	}
	found := map[PackageManager]bool{}
	for _, in := range p.instrs {
		if !in.final || in.cmd != "RUN" {
			continue
		}
		for _, e := range runEvidence {
			if e.re.MatchString(in.source) {
				found[e.m] = true
			}
		}
	}
	if len(found) == 1 {
		for m := range found {
			return m, nil
		}
	}
	image := strings.ToLower(p.finalBase)
	if len(found) == 0 {
		for _, e := range imageEvidence {
			if e.re.MatchString(image) {
				return e.m, nil
			}
		}
	}
	why := fmt.Sprintf("its final stage starts from %q and its RUN lines use no known package manager", p.finalBase)
	if len(found) > 1 {
		why = fmt.Sprintf("its RUN lines use more than one package manager (%s)", strings.Join(sortedManagers(found), ", "))
	}
	return "", fmt.Errorf("%w: cannot tell which package manager %s uses: %s; install with --run 'COMMAND' or --file SNIPPET instead", ErrUnknownPackageManager, baseName, why)
}

func sortedManagers(m map[PackageManager]bool) []string {
	var out []string
	for _, k := range []PackageManager{APT, APK, DNF} {
		if m[k] {
			out = append(out, string(k))
		}
	}
	return out
}

// PackageInstructions renders the install of pkgs with the package
// manager of the bottle's current base (what `capability add --package`
// records), and says which manager and which base it went by.
func PackageInstructions(store *state.Store, p *bottle.Plan, pkgs []string) (instructions string, m PackageManager, basePath string, err error) {
	if err := ValidatePackages(pkgs); err != nil {
		return "", "", "", err
	}
	b, err := store.Bottle(p.Slug)
	if err != nil {
		return "", "", "", err
	}
	cur, err := loadCurrent(b, p.Repo)
	if err != nil {
		return "", "", "", err
	}
	if m, err = DetectPackageManager(cur.base.Path, cur.base.Data); err != nil {
		return "", "", "", err
	}
	instructions, err = InstallInstructions(m, pkgs)
	return instructions, m, cur.base.Path, err
}
