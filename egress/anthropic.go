package egress

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/claude-bottle/claude-bottle/egress/allow"
)

// AnthropicPrefix is the path the bottle calls the API under: its
// ANTHROPIC_BASE_URL is the proxy's address plus this prefix.
const AnthropicPrefix = "/anthropic"

// Credentials are the host's credentials for the Anthropic API. They stay
// on the host: the proxy adds them to each request on the way out.
type Credentials struct {
	// APIKey is sent as x-api-key (the host's ANTHROPIC_API_KEY).
	APIKey string
	// AuthToken is sent as "Authorization: Bearer" (the host's
	// ANTHROPIC_AUTH_TOKEN).
	AuthToken string
}

// CredentialsFromEnv reads the host's ANTHROPIC_API_KEY and
// ANTHROPIC_AUTH_TOKEN through getenv (os.Getenv).
func CredentialsFromEnv(getenv func(string) string) Credentials {
	return Credentials{APIKey: getenv("ANTHROPIC_API_KEY"), AuthToken: getenv("ANTHROPIC_AUTH_TOKEN")}
}

// Empty reports whether there is no credential at all.
func (c Credentials) Empty() bool { return c.APIKey == "" && c.AuthToken == "" }

// AnthropicOptions configure the reverse proxy to the Anthropic API.
type AnthropicOptions struct {
	// Upstream is the API's URL; "" means allow.DefaultAnthropicURL. Tests (and
	// config [egress] anthropic_url) point it elsewhere.
	Upstream string
	// Credentials are added to every request; whatever credentials the
	// bottle sent are dropped.
	Credentials Credentials
	// Transport reaches the upstream; nil means a transport that honours
	// the host's proxy settings.
	Transport http.RoundTripper
	// Log records failures; nil discards.
	Log *slog.Logger
}

// authHeaders are the credentials a bottle might send; none is passed on.
var authHeaders = []string{"X-Api-Key", "Authorization", "Proxy-Authorization", "Cookie"}

// NewAnthropic returns the handler of /anthropic/...: it forwards each
// request to the upstream with the path after the prefix, drops the
// bottle's credentials and adds the host's. Responses, streamed ones
// (server-sent events) included, flow through unbuffered.
func NewAnthropic(o AnthropicOptions) (http.Handler, error) {
	up, err := allow.ParseUpstream(o.Upstream)
	if err != nil {
		return nil, err
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := o.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 10 * time.Minute,
		}
	}
	creds := o.Credentials
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rest := strings.TrimPrefix(pr.In.URL.Path, AnthropicPrefix)
			pr.Out.URL.Path, pr.Out.URL.RawPath = rest, ""
			pr.SetURL(up)
			for _, h := range authHeaders {
				pr.Out.Header.Del(h)
			}
			if creds.APIKey != "" {
				pr.Out.Header.Set("X-Api-Key", creds.APIKey)
			}
			if creds.AuthToken != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+creds.AuthToken)
			}
		},
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Warn("anthropic proxy", "err", err)
			http.Error(w, "claude-bottle: the host could not reach the Anthropic API: "+oneLine(err.Error()), http.StatusBadGateway)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != AnthropicPrefix && !strings.HasPrefix(r.URL.Path, AnthropicPrefix+"/") {
			http.Error(w, "claude-bottle: no such path; the Anthropic API is under "+AnthropicPrefix+"/", http.StatusNotFound)
			return
		}
		r, done := detach(r)
		defer done()
		rp.ServeHTTP(w, r)
	}), nil
}
