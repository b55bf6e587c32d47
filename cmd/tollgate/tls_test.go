package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/certs/certstest"
	"github.com/tollgate/tollgate/authz/config"
)

// tlsFiles are a CA that issued the server's and a client's certificates, and a CA
// nobody trusts, as PEM files.
type tlsFiles struct {
	ca, other                 string
	serverCert, serverKey     string
	clientCert, clientKey     string
	strangerCert, strangerKey string
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	ca, other := certstest.NewCA(t, "tollgate CA"), certstest.NewCA(t, "other CA")
	f := tlsFiles{ca: ca.WriteCert(t, filepath.Join(dir, "ca.crt")), other: other.WriteCert(t, filepath.Join(dir, "other.crt"))}
	f.serverCert, f.serverKey = ca.Server(t, "tollgate").WriteFiles(t, dir, "server")
	f.clientCert, f.clientKey = ca.Client(t, "ops").WriteFiles(t, dir, "client")
	f.strangerCert, f.strangerKey = other.Client(t, "stranger").WriteFiles(t, dir, "stranger")
	return f
}

func (f tlsFiles) mtls() config.TLS {
	return config.TLS{CertFile: f.serverCert, KeyFile: f.serverKey, ClientCAFile: f.ca}
}

// tollgate check talks TLS with --tls-*, and a server with mTLS answers only a client
// with a certificate from its client CA.
func TestCheckOverMutualTLS(t *testing.T) {
	f := newTLSFiles(t)
	q := startQuickstartWith(t, func(c *config.Config) { c.GRPC.TLS = f.mtls() })
	client := []string{"--tls-cert", f.clientCert, "--tls-key", f.clientKey}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string // in stdout on success, else in stderr
	}{
		{"mTLS", append([]string{"--tls-ca", f.ca}, client...), exitOK, "ALLOW"},
		{"server name given", append([]string{"--tls-ca", f.ca, "--tls-server-name", "localhost"}, client...), exitOK, "ALLOW"},
		{"wrong server name", append([]string{"--tls-ca", f.ca, "--tls-server-name", "elsewhere.test"}, client...), exitUsage, "elsewhere.test"},
		{"no client certificate", []string{"--tls-ca", f.ca}, exitUsage, "Unavailable"},
		{"client certificate of another CA", []string{"--tls-ca", f.ca, "--tls-cert", f.strangerCert, "--tls-key", f.strangerKey}, exitUsage, "Unavailable"},
		{"server not trusted", append([]string{"--tls-ca", f.other}, client...), exitUsage, "certificate signed by unknown authority"},
		{"plaintext", nil, exitUsage, "Unavailable"},
		{"cert without key", []string{"--tls-ca", f.ca, "--tls-cert", f.clientCert}, exitUsage, "--tls-cert and --tls-key go together"},
		{"key of another certificate", []string{"--tls-ca", f.ca, "--tls-cert", f.clientCert, "--tls-key", f.strangerKey}, exitUsage, "private key does not match"},
		{"CA file not PEM", []string{"--tls-ca", f.clientKey}, exitUsage, "no PEM certificate"},
		{"with --config", []string{"--config", q.config, "--tls-ca", f.ca}, exitUsage, "--tls-* flags are for --server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"check", "--path", "/orders/docs/intro", "--timeout", "10s"}
			if !strings.Contains(strings.Join(tt.args, " "), "--config") {
				args = append(args, "--server", q.grpc)
			}
			code, out, stderr := runCmd(append(args, tt.args...)...)
			got := out
			if tt.wantCode != exitOK {
				got = stderr
			}
			if code != tt.wantCode || !strings.Contains(got, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tt.wantCode, tt.want, out, stderr)
			}
		})
	}
}

// The admin commands reach an admin API over mTLS; without --server, the URL is https
// when admin.tls is set in --config, which they load without reading the server's key.
func TestAdminCommandsOverMutualTLS(t *testing.T) {
	f := newTLSFiles(t)
	q := startQuickstartWith(t, func(c *config.Config) { c.Admin.TLS = f.mtls() })
	cfg, err := config.Load(q.config)
	if err != nil {
		t.Fatal(err)
	}
	clientConfig := filepath.Join(t.TempDir(), "client.yaml")
	certstest.Write(t, clientConfig, fmt.Appendf(nil, `policies: policies
store: {path: %q}
admin:
  address: %q
  token_file: %q
  tls: {cert_file: /nowhere/server.crt, key_file: /nowhere/server.key}
`, cfg.Store.Path, q.admin, cfg.Admin.TokenFile))
	client := []string{"--tls-ca", f.ca, "--tls-cert", f.clientCert, "--tls-key", f.clientKey}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"https from admin.tls", append([]string{"--config", clientConfig}, client...), exitOK, "shop-web"},
		{"https --server", append([]string{"--config", q.config, "--server", "https://" + q.admin}, client...), exitOK, "shop-web"},
		{"no client certificate", []string{"--config", clientConfig, "--tls-ca", f.ca}, exitUsage, "admin API"},
		{"plaintext", []string{"--config", q.config, "--server", "http://" + q.admin}, exitDenied, "HTTP request to an HTTPS server"},
		{"--tls-* with an http URL", append([]string{"--config", q.config, "--server", "http://" + q.admin}, client...), exitUsage, "need an https:// admin URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(append([]string{"app", "list"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out+stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q\n%s%s", code, tt.wantCode, tt.want, out, stderr)
			}
		})
	}
}

// serve refuses TLS files that cannot serve before it listens, naming the key.
func TestServeChecksTLSFiles(t *testing.T) {
	path := quickstartConfig(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(raw), "grpc:\n", "grpc:\n  tls: {cert_file: missing.crt, key_file: missing.key}\n", 1)
	certstest.Write(t, path, []byte(doc))
	code, out, stderr := runCmd("serve", "--config", path)
	want := "grpc.tls.cert_file: open " + filepath.Join(filepath.Dir(path), "missing.crt")
	if code != exitUsage || !strings.Contains(stderr, want) || !strings.Contains(stderr, "grpc.tls.key_file") {
		t.Errorf("exit %d; want %d and %q\n%s%s", code, exitUsage, want, out, stderr)
	}
}
