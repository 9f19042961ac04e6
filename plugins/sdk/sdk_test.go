package sdk

import (
	"testing"

	"github.com/claude-bottle/claude-bottle/plugins/internal/wire"
)

// The SDK states its protocol version as a literal, so that go doc shows
// it; it must be the one the wire code speaks.
func TestProtocolVersionIsTheWires(t *testing.T) {
	if ProtocolVersion != wire.ProtocolVersion {
		t.Errorf("sdk.ProtocolVersion = %d, wire speaks %d", ProtocolVersion, wire.ProtocolVersion)
	}
}
