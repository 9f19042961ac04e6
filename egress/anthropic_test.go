package egress

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

func TestAnthropicAddsHostCredentials(t *testing.T) {
	for _, c := range []struct {
		name              string
		creds             Credentials
		wantKey, wantAuth string
	}{
		{"api key", Credentials{APIKey: "sk-host"}, "sk-host", ""},
		{"auth token", Credentials{AuthToken: "tok-host"}, "", "Bearer tok-host"},
		{"both", Credentials{APIKey: "sk-host", AuthToken: "tok-host"}, "sk-host", "Bearer tok-host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got http.Header
			var path string
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, path = r.Header.Clone(), r.URL.Path
				w.Write([]byte(`{"ok":true}`))
			}))
			defer up.Close()
			h, err := NewAnthropic(AnthropicOptions{Upstream: up.URL + "/base", Credentials: c.creds})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodPost, "/anthropic/v1/messages", strings.NewReader("{}"))
			req.Header.Set("X-Api-Key", "placeholder-from-bottle")
			req.Header.Set("Authorization", "Bearer stolen")
			req.Header.Set("Anthropic-Version", "2023-06-01")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("answer %d %q", rec.Code, rec.Body)
			}
			if path != "/base/v1/messages" {
				t.Errorf("upstream path %q, want /base/v1/messages", path)
			}
			if got.Get("X-Api-Key") != c.wantKey || got.Get("Authorization") != c.wantAuth {
				t.Errorf("upstream saw x-api-key %q, authorization %q; want %q, %q", got.Get("X-Api-Key"), got.Get("Authorization"), c.wantKey, c.wantAuth)
			}
			if got.Get("Anthropic-Version") != "2023-06-01" {
				t.Errorf("anthropic-version not passed on: %v", got)
			}
		})
	}
}

func TestAnthropicStreamsUnbuffered(t *testing.T) {
	next := make(chan struct{}, 3)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			w.Write([]byte("event: ping\ndata: " + string(rune('a'+i)) + "\n\n"))
			w.(http.Flusher).Flush()
			// The next event only comes once the client has this one: a
			// buffering proxy would deadlock here.
			select {
			case <-next:
			case <-time.After(5 * time.Second):
				return
			}
		}
	}))
	defer up.Close()
	h, err := NewAnthropic(AnthropicOptions{Upstream: up.URL, Credentials: Credentials{APIKey: "k"}})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(h)
	defer front.Close()
	resp, err := http.Get(front.URL + "/anthropic/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		done := make(chan string, 1)
		go func() {
			var ev strings.Builder
			for {
				line, err := br.ReadString('\n')
				ev.WriteString(line)
				if err != nil || line == "\n" {
					done <- ev.String()
					return
				}
			}
		}()
		select {
		case ev := <-done:
			if want := "data: " + string(rune('a'+i)); !strings.Contains(ev, want) {
				t.Fatalf("event %d = %q, want %q", i, ev, want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("event %d did not arrive: the proxy buffers the stream", i)
		}
		next <- struct{}{}
	}
}

func TestAnthropicRefusesBadUpstreamAndPaths(t *testing.T) {
	for _, u := range []string{"ftp://x", "http://", "https://u:p@api.anthropic.com", "::"} {
		if _, err := NewAnthropic(AnthropicOptions{Upstream: u}); !errors.Is(err, allow.ErrBadUpstream) {
			t.Errorf("NewAnthropic(%q): %v, want allow.ErrBadUpstream", u, err)
		}
	}
	h, err := NewAnthropic(AnthropicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/anthropicx/v1", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("/anthropicx: %d, want 404", rec.Code)
	}
}
