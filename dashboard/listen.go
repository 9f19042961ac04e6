package dashboard

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// DefaultAddr is where the dashboard listens unless told otherwise:
// loopback only.
const DefaultAddr = "127.0.0.1:8947"

// ErrNeedTLS classes a non-loopback address given without a certificate
// and key: the token would cross the network in clear.
var ErrNeedTLS = errors.New("a non-loopback address needs TLS")

// ErrBadListen classes a listen address or TLS setting that cannot work.
var ErrBadListen = errors.New("bad listen setting")

// ListenOptions say where the dashboard listens.
type ListenOptions struct {
	// Addr is host:port; "" means DefaultAddr. Port 0 picks a free one.
	Addr string
	// TLSCert and TLSKey are PEM files; both are needed for a non-loopback
	// Addr, and they turn TLS on for any.
	TLSCert, TLSKey string
	// AllowHosts are more names the dashboard may be reached by (the Host
	// header), for a non-loopback address: a DNS name of the machine.
	AllowHosts []string
}

// Listener is the dashboard's listener and the addresses it answers to.
type Listener struct {
	net.Listener
	// URL is the dashboard's base address, as printed (without token).
	URL *url.URL
	// TLS is true when the listener speaks TLS.
	TLS bool
	// Hosts are the Host header values the dashboard accepts (host:port,
	// lower case); Origins the Origin header values.
	Hosts   []string
	Origins []string
}

// Listen opens the dashboard's listener. A loopback address needs
// nothing more; any other needs TLSCert and TLSKey, or it is refused
// (ErrNeedTLS) before anything listens.
func Listen(o ListenOptions) (*Listener, error) {
	addr := o.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: --listen %q: want HOST:PORT, like %s", ErrBadListen, addr, DefaultAddr)
	}
	loopback, err := isLoopback(host)
	if err != nil {
		return nil, fmt.Errorf("%w: --listen %q: %v", ErrBadListen, addr, err)
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, fmt.Errorf("%w: TLS needs both a certificate and a key (--tls-cert and --tls-key, or dashboard.tls_cert and dashboard.tls_key in config.toml)", ErrBadListen)
	}
	useTLS := o.TLSCert != ""
	if !loopback && !useTLS {
		return nil, fmt.Errorf("%w: --listen %q is reachable from other machines, and the dashboard's token must not cross the network in clear; give --tls-cert and --tls-key (or dashboard.tls_cert and dashboard.tls_key in config.toml), or listen on loopback (%s)", ErrNeedTLS, addr, DefaultAddr)
	}
	var cfg *tls.Config
	if useTLS {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("%w: loading the TLS certificate %s and key %s: %v", ErrBadListen, o.TLSCert, o.TLSKey, err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if _, err := strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("%w: --listen %q: the port must be a number", ErrBadListen, addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w; choose another --listen address", addr, err)
	}
	port = strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	out := &Listener{Listener: l, TLS: useTLS}
	if useTLS {
		out.Listener = tls.NewListener(l, cfg)
	}
	names := hostNames(host, loopback, o.AllowHosts)
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	for _, n := range names {
		hp := strings.ToLower(net.JoinHostPort(n, port))
		out.Hosts = append(out.Hosts, hp)
		out.Origins = append(out.Origins, scheme+"://"+hp)
	}
	out.URL = &url.URL{Scheme: scheme, Host: net.JoinHostPort(names[0], port), Path: "/"}
	return out, nil
}

// isLoopback reports whether host names only loopback addresses. An
// empty or unspecified host (all interfaces) is not loopback.
func isLoopback(host string) (bool, error) {
	if host == "" {
		return false, nil
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback(), nil
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return false, fmt.Errorf("cannot resolve %q: %v", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false, nil
		}
	}
	return len(ips) > 0, nil
}

// hostNames lists the names the dashboard answers to, the one to print
// first: the listen host itself, the loopback names, and for an address
// other machines reach, the machine's name, its addresses (for all
// interfaces) and the extra names given.
func hostNames(host string, loopback bool, extra []string) []string {
	var names []string
	add := func(n string) {
		n = strings.ToLower(strings.Trim(n, "[]"))
		if n == "" {
			return
		}
		for _, have := range names {
			if have == n {
				return
			}
		}
		names = append(names, n)
	}
	unspecified := host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()
	if !unspecified {
		add(host)
	}
	if !loopback {
		if h, err := os.Hostname(); err == nil {
			add(h)
		}
		for _, n := range extra {
			add(n)
		}
		if unspecified {
			addrs, _ := net.InterfaceAddrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
					add(ipn.IP.String())
				}
			}
		}
	}
	add("127.0.0.1")
	add("localhost")
	add("::1")
	return names
}
