package service_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/tollgate/tollgate/authz/certs/certstest"
	"github.com/tollgate/tollgate/authz/config"
)

// pki is a server's certificate and the client CA it trusts, published in a
// Kubernetes-style Secret directory, plus a CA nobody trusts.
type pki struct {
	serverCA, clientCA, stranger *certstest.CA
	server                       *certstest.Pair
	secret                       *certstest.Secret
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{serverCA: certstest.NewCA(t, "server CA"), clientCA: certstest.NewCA(t, "client CA"),
		stranger: certstest.NewCA(t, "stranger CA"), secret: certstest.NewSecret(t)}
	p.server = p.serverCA.Server(t, "tollgate-1")
	p.publish(t)
	return p
}

// publish swaps the Secret to the current server pair and client CA.
func (p *pki) publish(t *testing.T) {
	t.Helper()
	p.secret.Update(t, map[string][]byte{"tls.crt": p.server.CertPEM, "tls.key": p.server.KeyPEM, "ca.crt": p.clientCA.CertPEM})
}

// mtls is the listener setting for the Secret's files.
func (p *pki) mtls() config.TLS {
	return config.TLS{CertFile: p.secret.Path("tls.crt"), KeyFile: p.secret.Path("tls.key"), ClientCAFile: p.secret.Path("ca.crt")}
}

// clientTLS trusts the server CA and presents client, when not nil, even when it is
// not from a CA the server asks for: the server must refuse it itself.
func (p *pki) clientTLS(client *certstest.Pair) *tls.Config {
	cfg := &tls.Config{RootCAs: p.serverCA.Pool(), ServerName: "localhost"}
	if client != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client.TLS, nil }
	}
	return cfg
}

// checkOver sends one public check over a new connection with creds and returns the
// answer, or the error, and the certificate the server presented.
func checkOver(t *testing.T, addr string, creds credentials.TransportCredentials) (*authv3.CheckResponse, *x509.Certificate, error) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var p peer.Peer
	resp, err := authv3.NewAuthorizationClient(conn).Check(ctx, request("GET", "/orders/docs/intro"), grpc.Peer(&p))
	if err != nil {
		return nil, nil, err
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return resp, nil, nil
	}
	return resp, info.State.PeerCertificates[0], nil
}

// Only a client whose certificate chains to client_ca_file can call Check.
func TestGRPCMutualTLS(t *testing.T) {
	p := newPKI(t)
	h := startWith(t, func(c *config.Config) { c.GRPC.TLS = p.mtls() })
	addr := h.svc.GRPCAddr()
	// The refusal's text depends on whether the client is still writing when the
	// server's alert arrives, so only its code is checked.
	tests := []struct {
		name  string
		creds credentials.TransportCredentials
		ok    bool
	}{
		{"certificate from the client CA", credentials.NewTLS(p.clientTLS(p.clientCA.Client(t, "envoy"))), true},
		{"no client certificate", credentials.NewTLS(p.clientTLS(nil)), false},
		{"certificate from another CA", credentials.NewTLS(p.clientTLS(p.stranger.Client(t, "envoy"))), false},
		{"certificate from the client CA for servers only", credentials.NewTLS(p.clientTLS(p.clientCA.Server(t, "envoy"))), false},
		{"plaintext", insecure.NewCredentials(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := checkOver(t, addr, tt.creds)
			if tt.ok {
				if err != nil || resp.GetOkResponse() == nil {
					t.Fatalf("Check = %v, %v; want an allow", resp, err)
				}
				return
			}
			if status.Code(err) != codes.Unavailable {
				t.Errorf("Check = %v, %v; want Unavailable", resp, err)
			}
		})
	}
	if !strings.Contains(h.logs.String(), `"grpc_transport":"mtls"`) || !strings.Contains(h.logs.String(), `"http_transport":"plaintext"`) {
		t.Errorf("the serving log line does not say which listeners use TLS:\n%s", h.logs.String())
	}
}

// waitServes polls new connections until the server presents want.
func waitServes(t *testing.T, addr string, creds credentials.TransportCredentials, want *big.Int) {
	t.Helper()
	var got *x509.Certificate
	var err error
	waitFor(t, func() bool {
		_, got, err = checkOver(t, addr, creds)
		return err == nil && got.SerialNumber.Cmp(want) == 0
	})
}

// A new certificate on disk is presented to new connections without a restart, whether
// the files are rewritten in place or swapped as Kubernetes updates a Secret.
func TestGRPCCertificateRotation(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(t *testing.T, p *pki)
	}{
		{"rewritten in place", func(t *testing.T, p *pki) {
			certstest.Write(t, p.secret.Path("tls.key"), p.server.KeyPEM)
			certstest.Write(t, p.secret.Path("tls.crt"), p.server.CertPEM)
		}},
		{"Kubernetes Secret swap", func(t *testing.T, p *pki) { p.publish(t) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			h := startWith(t, func(c *config.Config) { c.GRPC.TLS = p.mtls() })
			creds := credentials.NewTLS(p.clientTLS(p.clientCA.Client(t, "envoy")))
			waitServes(t, h.svc.GRPCAddr(), creds, p.server.Cert.SerialNumber)

			p.server = p.serverCA.Server(t, "tollgate-2")
			tt.rotate(t, p)
			waitServes(t, h.svc.GRPCAddr(), creds, p.server.Cert.SerialNumber)
			if !strings.Contains(h.logs.String(), "CN=tollgate-2") {
				t.Errorf("the rotation is not logged with the new certificate:\n%s", h.logs.String())
			}
		})
	}
}

// A new client CA is trusted, and the old one no longer, without a restart.
func TestGRPCClientCARotation(t *testing.T) {
	p := newPKI(t)
	h := startWith(t, func(c *config.Config) { c.GRPC.TLS = p.mtls() })
	oldClient := credentials.NewTLS(p.clientTLS(p.clientCA.Client(t, "envoy-old")))
	if _, _, err := checkOver(t, h.svc.GRPCAddr(), oldClient); err != nil {
		t.Fatal(err)
	}
	p.clientCA = certstest.NewCA(t, "client CA 2")
	p.publish(t)
	newClient := credentials.NewTLS(p.clientTLS(p.clientCA.Client(t, "envoy-new")))
	waitFor(t, func() bool {
		_, _, err := checkOver(t, h.svc.GRPCAddr(), newClient)
		return err == nil
	})
	if _, _, err := checkOver(t, h.svc.GRPCAddr(), oldClient); status.Code(err) != codes.Unavailable {
		t.Errorf("a client of the old CA: %v; want Unavailable", err)
	}
}

// Files that cannot serve are refused with the reason in the log, and the last good
// certificate keeps serving.
func TestGRPCBrokenCertificateKeepsServing(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, p *pki)
		reason  string
	}{
		{"garbage over the certificate", func(t *testing.T, p *pki) {
			certstest.Write(t, p.secret.Path("tls.crt"), []byte("-----BEGIN CERTIFICATE-----\ngarbage"))
		}, "cut short"},
		{"a key that does not match", func(t *testing.T, p *pki) {
			certstest.Write(t, p.secret.Path("tls.key"), p.serverCA.Server(t, "other").KeyPEM)
		}, "private key does not match public key"},
		{"client CA without a certificate", func(t *testing.T, p *pki) {
			certstest.Write(t, p.secret.Path("ca.crt"), []byte("\n"))
		}, "no PEM CERTIFICATE block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			h := startWith(t, func(c *config.Config) { c.GRPC.TLS = p.mtls() })
			creds := credentials.NewTLS(p.clientTLS(p.clientCA.Client(t, "envoy")))
			tt.corrupt(t, p)
			waitFor(t, func() bool { return strings.Contains(h.logs.String(), "TLS files refused") })
			if !strings.Contains(h.logs.String(), tt.reason) {
				t.Errorf("the refusal does not say %q:\n%s", tt.reason, h.logs.String())
			}
			if strings.Contains(h.logs.String(), "PRIVATE KEY") {
				t.Errorf("key material logged:\n%s", h.logs.String())
			}
			if _, got, err := checkOver(t, h.svc.GRPCAddr(), creds); err != nil || got.SerialNumber.Cmp(p.server.Cert.SerialNumber) != 0 {
				t.Errorf("after the refusal: %v; want the last good certificate served", err)
			}
		})
	}
}

// get fetches url with client and returns the status, or 0 when the request failed.
func get(client *http.Client, url string) int {
	res, err := client.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// The HTTP listener serves /healthz over TLS (HTTP/2 offered), and over mTLS only to
// clients with a certificate; a plaintext request is refused.
func TestHTTPOverTLS(t *testing.T) {
	tests := []struct {
		name string
		mtls bool
	}{{"tls", false}, {"mtls", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKI(t)
			h := startUnready(t, func(c *config.Config) {
				c.HTTP.TLS = p.mtls()
				if !tt.mtls {
					c.HTTP.TLS.ClientCAFile = ""
				}
			})
			url := "https://" + h.svc.HTTPAddr() + "/healthz"
			withCert := &http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(p.clientCA.Client(t, "probe")), ForceAttemptHTTP2: true}}
			noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(nil)}}
			defer withCert.CloseIdleConnections() // before the shutdown, which waits for them
			defer noCert.CloseIdleConnections()
			res, err := withCert.Get(url)
			if err != nil {
				t.Fatalf("GET /healthz with a client certificate: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
				t.Errorf("GET /healthz with a client certificate = %d over %s; want 200 over HTTP/2", res.StatusCode, res.Proto)
			}
			if code, want := get(noCert, url), map[bool]int{false: 200, true: 0}[tt.mtls]; code != want {
				t.Errorf("GET /healthz without a client certificate = %d; want %d", code, want)
			}
			if code := get(http.DefaultClient, "http://"+h.svc.HTTPAddr()+"/healthz"); code == http.StatusOK {
				t.Error("plaintext GET /healthz succeeded on a TLS listener")
			}
		})
	}
}

// In store mode the admin API serves over mTLS: the bearer token is not enough.
func TestAdminOverMutualTLS(t *testing.T) {
	p := newPKI(t)
	h := startSTSWith(t, func(c *config.Config) { c.Admin.TLS = p.mtls() })
	raw, err := os.ReadFile(h.cfg.Admin.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(raw))
	call := func(client *certstest.Pair) int {
		req, _ := http.NewRequest(http.MethodGet, "https://"+h.svc.AdminAddr()+"/admin/v1/applications", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(client)}}).Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := call(p.clientCA.Client(t, "ops")); code != http.StatusOK {
		t.Errorf("admin call with a client certificate = %d", code)
	}
	if code := call(nil); code != 0 {
		t.Errorf("admin call without a client certificate = %d; want refused", code)
	}
	if !strings.Contains(h.logs.String(), `"transport":"mtls"`) {
		t.Errorf("the admin log line does not say mtls:\n%s", h.logs.String())
	}
}

// TLS settings apply after a restart, as the listener's address does: a reload that
// turns TLS on says so, and the listener keeps serving as it started.
func TestReloadTLSChangeNeedsRestart(t *testing.T) {
	h, path := startFromFile(t, nil)
	p := newPKI(t)
	tlsOn := fmt.Sprintf(`grpc: {address: "127.0.0.1:0", tls: {cert_file: %q, key_file: %q}}`, p.secret.Path("tls.crt"), p.secret.Path("tls.key"))
	writeFile(t, path, strings.Replace(h.configYAML(""), `grpc: {address: "127.0.0.1:0"}`, tlsOn, 1))
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), `"key":"grpc.tls"`) })
	if _, err := h.client.Check(context.Background(), request("GET", "/orders/docs/a")); err != nil {
		t.Errorf("a plaintext check on the running listener: %v", err)
	}
}

// The HTTP check endpoints serve over mTLS too: a proxy without a client certificate
// cannot ask for a decision.
func TestCheckOverMutualTLS(t *testing.T) {
	p := newPKI(t)
	h := startUnready(t, func(c *config.Config) { c.Check.TLS = p.mtls() })
	url := "https://" + h.svc.CheckAddr() + "/ext_authz/envoy/orders/docs/intro"
	proxy := &http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(p.clientCA.Client(t, "nginx"))}}
	stranger := &http.Client{Transport: &http.Transport{TLSClientConfig: p.clientTLS(nil)}}
	defer proxy.CloseIdleConnections()
	defer stranger.CloseIdleConnections()
	if code := get(proxy, url); code != http.StatusOK {
		t.Errorf("check of a public resource with a client certificate = %d; want 200", code)
	}
	if code := get(stranger, url); code != 0 {
		t.Errorf("check without a client certificate = %d; want the handshake refused", code)
	}
	if code := get(http.DefaultClient, "http://"+h.svc.CheckAddr()+"/ext_authz/envoy/orders/docs/intro"); code == http.StatusOK {
		t.Error("plaintext check allowed on a TLS listener")
	}
}
