package dockercli

import (
	"time"

	"github.com/claude-bottle/claude-bottle/driver"
	"github.com/claude-bottle/claude-bottle/plugins/sdk/plainprogress"
)

// plainParser reads BuildKit's --progress=plain output, as the classic
// docker build prints it with DOCKER_BUILDKIT=1 (and older buildx), with
// the SDK's parser, which third-party drivers wrapping docker use too.
// Lines that are not progress, step output and step errors go to the
// tail for error messages.
type plainParser struct {
	p plainprogress.Parser
}

func newPlainParser(t *tail) *plainParser {
	return &plainParser{p: plainprogress.Parser{Keep: t.add}}
}

func (p *plainParser) line(_ int, s string, now time.Time) *driver.Event { return p.p.Line(s, now) }
func (p *plainParser) end(bool, time.Time) *driver.Event                 { return nil }
func (p *plainParser) failedStep() string                                { return p.p.FailedStep() }
func (p *plainParser) stepStarted() bool                                 { return p.p.StepStarted() }
