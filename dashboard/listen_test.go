package dashboard

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/internal/testenv"
)

func TestListen(t *testing.T) {
	certs, err := testenv.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		o         ListenOptions
		err       error
		scheme    string
		wantHosts []string // among Hosts, port aside
		firstHost string
	}{
		{"loopback", ListenOptions{Addr: "127.0.0.1:0"}, nil, "http", []string{"127.0.0.1", "localhost"}, "127.0.0.1"},
		{"localhost", ListenOptions{Addr: "localhost:0"}, nil, "http", []string{"localhost", "127.0.0.1"}, "localhost"},
		{"all interfaces without TLS", ListenOptions{Addr: "0.0.0.0:0"}, ErrNeedTLS, "", nil, ""},
		{"no host without TLS", ListenOptions{Addr: ":0"}, ErrNeedTLS, "", nil, ""},
		{"a certificate without its key", ListenOptions{Addr: "127.0.0.1:0", TLSCert: certs.ServerCert}, ErrBadListen, "", nil, ""},
		{"a key that is no key", ListenOptions{Addr: "127.0.0.1:0", TLSCert: certs.ServerCert, TLSKey: certs.CA}, ErrBadListen, "", nil, ""},
		{"no port", ListenOptions{Addr: "127.0.0.1"}, ErrBadListen, "", nil, ""},
		{"a port that is no number", ListenOptions{Addr: "127.0.0.1:http"}, ErrBadListen, "", nil, ""},
		{"loopback over TLS", ListenOptions{Addr: "127.0.0.1:0", TLSCert: certs.ServerCert, TLSKey: certs.ServerKey}, nil, "https", []string{"127.0.0.1"}, "127.0.0.1"},
		{"all interfaces over TLS", ListenOptions{Addr: "0.0.0.0:0", TLSCert: certs.ServerCert, TLSKey: certs.ServerKey, AllowHosts: []string{"Bottles.LAN"}}, nil, "https", []string{"bottles.lan", hostname(t), "127.0.0.1"}, hostname(t)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Listen(tc.o)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Listen = %v, want %v", err, tc.err)
				}
				if tc.err == ErrNeedTLS && !strings.Contains(err.Error(), "--tls-cert") {
					t.Errorf("the refusal does not say what to do: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.URL.Scheme != tc.scheme || l.TLS != (tc.scheme == "https") || !strings.HasPrefix(l.URL.Host, tc.firstHost+":") {
				t.Errorf("URL %s, TLS %v", l.URL, l.TLS)
			}
			_, port, _ := strings.Cut(l.URL.Host, ":")
			for _, h := range tc.wantHosts {
				if !contains(l.Hosts, h+":"+port) || !contains(l.Origins, tc.scheme+"://"+h+":"+port) {
					t.Errorf("%s not accepted: hosts %v, origins %v", h, l.Hosts, l.Origins)
				}
			}
		})
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname")
	}
	return strings.ToLower(h)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Over TLS the session cookie is Secure too, and the dashboard answers
// HTTPS only.
func TestTLSCookieIsSecure(t *testing.T) {
	certs, err := testenv.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(ListenOptions{Addr: "127.0.0.1:0", TLSCert: certs.ServerCert, TLSKey: certs.ServerKey})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t)
	hs := &http.Server{Handler: ts.srv.Handler(l)}
	go hs.Serve(l)
	defer hs.Close()
	pool := x509.NewCertPool()
	ca, _ := os.ReadFile(certs.CA)
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := client.Get(l.URL.String() + "?token=" + ts.srv.Token())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Cookies(); res.StatusCode != http.StatusSeeOther || len(c) != 1 || !c[0].Secure || !c[0].HttpOnly {
		t.Errorf("status %d, cookies %+v; want one Secure HttpOnly cookie", res.StatusCode, c)
	}
	plain, err := http.Get(strings.Replace(l.URL.String(), "https:", "http:", 1))
	if err == nil && plain.StatusCode < 400 {
		t.Errorf("plain http answered %d", plain.StatusCode)
	}
}

func TestNewNeedsStoreAndEngine(t *testing.T) {
	if srv, err := New(Options{}); err == nil || srv != nil {
		t.Fatal("New without a store and an engine did not refuse")
	}
}
