package wire

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogGate(t *testing.T) {
	var buf bytes.Buffer
	g := &LogGate{}
	log := g.Wrap(slog.New(slog.NewTextHandler(&buf, nil))).With("driver", "x")
	log.Info("before")
	g.ShutDown()
	log.Info("after")
	if got := buf.String(); !strings.Contains(got, "msg=before driver=x") || strings.Contains(got, "after") {
		t.Errorf("log = %q, want the record before ShutDown only", got)
	}
}
