package dockercli

import (
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
)

// checkDockerfile parses the Dockerfile (package dockerfile, BuildKit's
// parser) before docker runs, so that a syntax error is classed
// ErrInvalidDockerfile from its cause rather than guessed from docker's
// output, and an unknown --target or a BuildKit-only construct under the
// legacy builder is refused early.
func checkDockerfile(mode Mode, req driver.Request) error {
	f, err := dockerfile.ReadFile(req.Dockerfile)
	if err != nil {
		return err
	}
	if _, ok := f.Stage(req.Target); req.Target != "" && !ok {
		return fmt.Errorf("%w: target %q is not a stage of %q (name one with FROM ... AS %s)", driver.ErrInvalidRequest, req.Target, req.Dockerfile, req.Target)
	}
	if mode == ModeLegacy {
		return legacyConstructs(f)
	}
	return nil
}

// legacyFlags are the instruction flags the legacy builder knows; every
// other flag (RUN --mount, COPY --link, --chmod, ...) needs BuildKit.
var legacyFlags = map[string]bool{"from": true, "chown": true, "platform": true}

// legacyConstructs refuses what the legacy builder would reject late or,
// worse, misread: heredocs and BuildKit-only instruction flags.
func legacyConstructs(f *dockerfile.File) error {
	for _, in := range f.Instructions {
		if in.Heredoc {
			return unsupported(ModeLegacy, fmt.Sprintf("heredoc in %s on line %d", in.Command, in.Line), "the legacy builder has no heredocs")
		}
		for _, fl := range in.Flags {
			name, _, _ := strings.Cut(strings.TrimLeft(fl, "-"), "=")
			if !legacyFlags[strings.ToLower(name)] {
				return unsupported(ModeLegacy, fmt.Sprintf("flag %q of %s on line %d", "--"+name, in.Command, in.Line), "the legacy builder knows only --from, --chown and --platform")
			}
		}
	}
	return nil
}
