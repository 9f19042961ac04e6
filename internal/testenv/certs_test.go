package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

// TestWriteCerts proves the certificates make a working mutual-TLS
// connection on 127.0.0.1, and that a client without its certificate is
// refused.
func TestWriteCerts(t *testing.T) {
	c, err := WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(c.ClientKey); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("client key mode: %v %v", st, err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(c.CA)
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}
	serverCert, err := tls.LoadX509KeyPair(c.ServerCert, c.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.(*tls.Conn).Handshake()
			conn.Write([]byte("ok"))
			conn.Close()
		}
	}()
	clientCert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(certs []tls.Certificate) error {
		conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: pool, Certificates: certs, ServerName: "127.0.0.1"})
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = conn.Read(make([]byte, 2))
		return err
	}
	if err := dial([]tls.Certificate{clientCert}); err != nil {
		t.Errorf("mTLS with the client certificate: %v", err)
	}
	if err := dial(nil); err == nil {
		t.Error("a client without a certificate was served")
	}
}
