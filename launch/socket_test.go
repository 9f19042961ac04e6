package launch

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// TestServeSocket serves a bottle's socket as Prepared.Run does: the
// hook's handler answers beside the request endpoints, the managed
// configuration is written, a second server is refused, and closing
// removes the run folder.
func TestServeSocket(t *testing.T) {
	st, err := state.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Bottle("sock-test")
	if err != nil {
		t.Fatal(err)
	}
	hook := func(o *request.ServerOptions) {
		o.Anthropic = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from the hook") })
	}
	sock, err := serveSocket(b, nil, hook)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock.dir.Socket)
	}}}
	for path, want := range map[string]int{bottleapi.PathStatus: 200, bottleapi.PathAnthropic + "v1/messages": 200} {
		res, err := c.Get("http://bottle" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s = %d %s, want %d", path, res.StatusCode, body, want)
		}
	}
	if _, err := os.Stat(sock.dir.ManagedDir + "/managed-mcp.json"); err != nil {
		t.Errorf("managed configuration not written: %v", err)
	}
	if _, err := serveSocket(b, nil, nil); err == nil {
		t.Error("a second server on the same bottle's socket was not refused")
	}
	c.CloseIdleConnections()
	if err := sock.close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock.dir.Dir); !os.IsNotExist(err) {
		t.Errorf("run folder left after close: %v", err)
	}
}
