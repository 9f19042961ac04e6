package dockercli

import (
	"fmt"
	"os"
	"strings"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// checkDockerfile parses the Dockerfile with BuildKit's parser before docker
// runs, so that a syntax error is classed ErrInvalidDockerfile from its
// cause rather than guessed from docker's output, and an unknown --target
// or a BuildKit-only construct under the legacy builder is refused early.
func checkDockerfile(mode Mode, req driver.Request) error {
	f, err := os.Open(req.Dockerfile)
	if err != nil {
		return fmt.Errorf("%w: cannot read %q: %w", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return fmt.Errorf("%w: %q: %w: fix the Dockerfile", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return fmt.Errorf("%w: %q: %w: fix the Dockerfile", driver.ErrInvalidDockerfile, req.Dockerfile, err)
	}
	if len(stages) == 0 {
		return fmt.Errorf("%w: %q has no FROM instruction: start it with FROM", driver.ErrInvalidDockerfile, req.Dockerfile)
	}
	if req.Target != "" && !hasStage(stages, req.Target) {
		return fmt.Errorf("%w: target %q is not a stage of %q (name one with FROM ... AS %s)", driver.ErrInvalidRequest, req.Target, req.Dockerfile, req.Target)
	}
	if mode == ModeLegacy {
		return legacyConstructs(res.AST)
	}
	return nil
}

func hasStage(stages []instructions.Stage, name string) bool {
	for _, s := range stages {
		if strings.EqualFold(s.Name, name) {
			return true
		}
	}
	return false
}

// legacyFlags are the instruction flags the legacy builder knows; every
// other flag (RUN --mount, COPY --link, --chmod, ...) needs BuildKit.
var legacyFlags = map[string]bool{"from": true, "chown": true, "platform": true}

// legacyConstructs refuses what the legacy builder would reject late or,
// worse, misread: heredocs and BuildKit-only instruction flags.
func legacyConstructs(ast *parser.Node) error {
	for _, n := range ast.Children {
		if len(n.Heredocs) > 0 {
			return unsupported(ModeLegacy, fmt.Sprintf("heredoc in %s on line %d", strings.ToUpper(n.Value), n.StartLine), "the legacy builder has no heredocs")
		}
		for _, fl := range n.Flags {
			name, _, _ := strings.Cut(strings.TrimLeft(fl, "-"), "=")
			if !legacyFlags[strings.ToLower(name)] {
				return unsupported(ModeLegacy, fmt.Sprintf("flag %q of %s on line %d", "--"+name, strings.ToUpper(n.Value), n.StartLine), "the legacy builder knows only --from, --chown and --platform")
			}
		}
	}
	return nil
}
