// Package inbottle is the side of claude-bottle that runs inside a bottle:
// the bottle's PID 1 (Init: the agent's HOME and user, reaping, signals,
// the loopback forwarder), the client of the bottle socket, the MCP server
// the agent calls (`claude-bottle mcp`), the plain `request capability`
// command, the PostToolUseFailure hook and Claude Code's managed
// configuration. It talks to the socket only: it imports no engine
// client, no host state and no key, only the protocol in package
// bottleapi.
package inbottle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

// ErrUnreachable classes a socket that cannot be reached: no supervisor
// serves this bottle (or this is not a bottle).
var ErrUnreachable = errors.New("bottle socket unreachable")

// APIError is an error answer of the socket.
type APIError struct {
	Code    int
	Message string
}

// Error returns the host's one-line message.
func (e *APIError) Error() string { return e.Message }

// Is makes a 400 answer match bottleapi.ErrInvalid: the host refused the
// input.
func (e *APIError) Is(target error) bool {
	return target == bottleapi.ErrInvalid && e.Code == http.StatusBadRequest
}

// maxAnswer bounds an answer read from the socket.
const maxAnswer = 1 << 20

// SocketPath returns $CLAUDE_BOTTLE_SOCKET, else bottleapi.DefaultSocket.
func SocketPath() string {
	if p := os.Getenv(bottleapi.SocketEnv); p != "" {
		return p
	}
	return bottleapi.DefaultSocket
}

// Client calls the bottle socket.
type Client struct {
	socket string
	http   *http.Client
}

// NewClient returns a client of the socket at path ("" = SocketPath()).
func NewClient(path string) *Client {
	if path == "" {
		path = SocketPath()
	}
	tr := &http.Transport{
		// Never a proxy: the socket is the way out, whatever the
		// bottle's environment says.
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	return &Client{socket: path, http: &http.Client{Transport: tr}}
}

// Socket returns the socket's path.
func (c *Client) Socket() string { return c.socket }

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Create asks the host for a request and returns it as stored (pending).
func (c *Client) Create(ctx context.Context, req bottleapi.CreateRequest) (bottleapi.Request, error) {
	var r bottleapi.Request
	err := c.call(ctx, http.MethodPost, bottleapi.PathRequests, req, &r)
	return r, err
}

// Get reads a request of this bottle, waiting up to wait (rounded up to
// whole seconds) for its final answer.
func (c *Client) Get(ctx context.Context, id string, wait time.Duration) (bottleapi.Request, error) {
	if err := bottleapi.ValidateID(id); err != nil {
		return bottleapi.Request{}, err
	}
	path := bottleapi.PathRequest + url.PathEscape(id)
	if wait > 0 {
		path += "?wait=" + strconv.Itoa(int((wait+time.Second-1)/time.Second))
	}
	var r bottleapi.Request
	err := c.call(ctx, http.MethodGet, path, nil, &r)
	return r, err
}

// Suggest records a suggestion; it waits for nobody.
func (c *Client) Suggest(ctx context.Context, s bottleapi.Suggestion) (bottleapi.Request, error) {
	var r bottleapi.Request
	err := c.call(ctx, http.MethodPost, bottleapi.PathSuggestions, s, &r)
	return r, err
}

// Status returns the bottle's image, capabilities and open requests.
func (c *Client) Status(ctx context.Context) (bottleapi.Status, error) {
	var s bottleapi.Status
	err := c.call(ctx, http.MethodGet, bottleapi.PathStatus, nil, &s)
	return s, err
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://bottle"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("%w: %s: %v (is this a bottle started by claude-bottle launch?)", ErrUnreachable, c.socket, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", c.socket, err)
	}
	if resp.StatusCode >= 300 {
		var e bottleapi.Error
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("the host answered %s", resp.Status)
		}
		return &APIError{Code: resp.StatusCode, Message: e.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the host's answer is not what was expected: %w", err)
	}
	return nil
}
