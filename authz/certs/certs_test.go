package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/authz/certs/certstest"
)

// server serves TLS with r on loopback: each connection that completes its handshake
// is answered "ok" and closed.
func server(t *testing.T, r *Reloader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(ln, r.TLSConfig())
	t.Cleanup(func() { _ = tl.Close() })
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// dial connects with roots and, if not nil, a client certificate; it returns the
// server's leaf once the server has answered, which it does only after it accepted
// the client (in TLS 1.3 the client's side of the handshake ends first).
func dial(addr string, roots *x509.CertPool, client *certstest.Pair) (*x509.Certificate, error) {
	cfg := &tls.Config{RootCAs: roots, ServerName: "localhost"}
	if client != nil { // presented even when the server asks for other CAs
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client.TLS, nil }
	}
	d := &tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 2)); err != nil {
		return nil, err
	}
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0], nil
}

// logs collects a logger's lines.
type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logs) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func TestMutualTLS(t *testing.T) {
	ca, other := certstest.NewCA(t, "clients"), certstest.NewCA(t, "strangers")
	dir := t.TempDir()
	cert, key := ca.Server(t, "tollgate").WriteFiles(t, dir, "server")
	r, err := New(Options{CertFile: cert, KeyFile: key, ClientCAFile: ca.WriteCert(t, filepath.Join(dir, "ca.crt"))}, (&logs{}).logger())
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	tests := []struct {
		name   string
		client *certstest.Pair
		ok     bool
	}{
		{"client certificate from the client CA", ca.Client(t, "envoy"), true},
		{"no client certificate", nil, false},
		{"client certificate from another CA", other.Client(t, "envoy"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dial(addr, ca.Pool(), tt.client)
			if (err == nil) != tt.ok {
				t.Errorf("dial: %v; want success %v", err, tt.ok)
			}
		})
	}
	if _, err := dial(addr, other.Pool(), ca.Client(t, "envoy")); err == nil {
		t.Error("a client that does not trust the server's CA connected")
	}
}

func TestMinVersion(t *testing.T) {
	ca := certstest.NewCA(t, "ca")
	cert, key := ca.Server(t, "tollgate").WriteFiles(t, t.TempDir(), "server")
	r, err := New(Options{CertFile: cert, KeyFile: key, MinVersion: tls.VersionTLS13}, (&logs{}).logger())
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err == nil {
		c.Close()
		t.Fatal("a TLS 1.2 client connected to a TLS 1.3 listener")
	}
}

// A rewritten pair is served from the next handshake; files that cannot serve are
// refused, logged once with the reason, and the last good pair keeps serving.
func TestRefresh(t *testing.T) {
	ca := certstest.NewCA(t, "ca")
	dir := t.TempDir()
	first := ca.Server(t, "first")
	cert, key := first.WriteFiles(t, dir, "server")
	var log logs
	r, err := New(Options{CertFile: cert, KeyFile: key}, log.logger())
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	serves := func(want *certstest.Pair) {
		t.Helper()
		leaf, err := dial(addr, ca.Pool(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if leaf.SerialNumber.Cmp(want.Cert.SerialNumber) != 0 {
			t.Fatalf("the server presents %s; want %s", leaf.Subject.CommonName, want.Cert.Subject.CommonName)
		}
	}
	serves(first)
	r.refresh()
	if log.String() != "" {
		t.Errorf("unchanged files were logged: %s", log.String())
	}

	second := ca.Server(t, "second")
	second.WriteFiles(t, dir, "server")
	r.refresh()
	serves(second)
	if !strings.Contains(log.String(), "TLS files changed") || !strings.Contains(log.String(), "CN=second") {
		t.Errorf("the reload is not logged with the new certificate:\n%s", log.String())
	}

	third := ca.Server(t, "third")
	tests := []struct {
		name       string
		cert, key  []byte
		wantReason string
	}{
		{"garbage over the certificate", []byte("garbage"), third.KeyPEM, "no PEM CERTIFICATE block"},
		{"half-written certificate", third.CertPEM[:len(third.CertPEM)-40], third.KeyPEM, "cut short"},
		{"a key that does not match", third.CertPEM, first.KeyPEM, "private key does not match public key"},
		{"an empty key", third.CertPEM, nil, "key input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(log.String())
			certstest.Write(t, cert, tt.cert)
			certstest.Write(t, key, tt.key)
			r.refresh()
			r.refresh()
			serves(second)
			logged := log.String()[before:]
			if strings.Count(logged, "TLS files refused") != 1 || !strings.Contains(logged, tt.wantReason) {
				t.Errorf("want one refusal naming %q; logged:\n%s", tt.wantReason, logged)
			}
			if strings.Contains(logged, "PRIVATE KEY") {
				t.Errorf("key material logged:\n%s", logged)
			}
		})
	}
	third.WriteFiles(t, dir, "server")
	r.refresh()
	serves(third)
}

// Run follows a Kubernetes Secret volume, whose files change by a symlink swap: the
// server's pair and the client CA both rotate without a restart.
func TestRunFollowsSecret(t *testing.T) {
	oldCA, newCA := certstest.NewCA(t, "old"), certstest.NewCA(t, "new")
	oldPair, newPair := oldCA.Server(t, "old"), newCA.Server(t, "new")
	secret := certstest.NewSecret(t)
	secret.Update(t, map[string][]byte{"tls.crt": oldPair.CertPEM, "tls.key": oldPair.KeyPEM, "ca.crt": oldCA.CertPEM})
	r, err := New(Options{CertFile: secret.Path("tls.crt"), KeyFile: secret.Path("tls.key"), ClientCAFile: secret.Path("ca.crt")},
		(&logs{}).logger())
	if err != nil {
		t.Fatal(err)
	}
	addr := server(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	if _, err := dial(addr, oldCA.Pool(), oldCA.Client(t, "envoy")); err != nil {
		t.Fatal(err)
	}

	secret.Update(t, map[string][]byte{"tls.crt": newPair.CertPEM, "tls.key": newPair.KeyPEM, "ca.crt": newCA.CertPEM})
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaf, err := dial(addr, newCA.Pool(), newCA.Client(t, "envoy"))
		if err == nil && leaf.SerialNumber.Cmp(newPair.Cert.SerialNumber) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new pair and client CA are not served within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	both := x509.NewCertPool()
	both.AddCert(oldCA.Cert)
	both.AddCert(newCA.Cert)
	if _, err := dial(addr, both, oldCA.Client(t, "envoy")); err == nil {
		t.Error("a client certificate from the old client CA is still accepted")
	}
}

func TestNewRefusesFilesThatCannotServe(t *testing.T) {
	dir := t.TempDir()
	_, err := New(Options{CertFile: filepath.Join(dir, "none.crt"), KeyFile: filepath.Join(dir, "none.key")}, (&logs{}).logger())
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != Cert || !strings.Contains(err.Error(), "key: open") {
		t.Errorf("New = %v; want the certificate and the key named", err)
	}
}
