package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"
)

// tlsFlags are the TLS flags of the commands that call a server: check, the admin
// commands and token --client-secret.
type tlsFlags struct {
	ca, cert, key, serverName string
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "tls-ca", "", "verify the server's certificate with this PEM CA `file` instead of the system's CAs; implies TLS")
	fs.StringVar(&f.cert, "tls-cert", "", "present this PEM client certificate `file` (mTLS), with --tls-key; implies TLS")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key `file` of --tls-cert")
	fs.StringVar(&f.serverName, "tls-server-name", "", "the `name` the server's certificate must hold (default: the server's host); implies TLS")
}

// on reports whether a flag asks for TLS.
func (f tlsFlags) on() bool { return f.ca != "" || f.cert != "" || f.key != "" || f.serverName != "" }

// config is the client's TLS configuration, from the flags; nil when none is set.
func (f tlsFlags) config() (*tls.Config, error) {
	if !f.on() {
		return nil, nil
	}
	if (f.cert == "") != (f.key == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.serverName}
	if f.ca != "" {
		raw, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(raw) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate", f.ca)
		}
	}
	if f.cert != "" {
		pair, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// httpClient is an HTTP client with the flags' TLS configuration, if any.
func (f tlsFlags) httpClient(timeout time.Duration) (*http.Client, error) {
	cfg, err := f.config()
	if err != nil || cfg == nil {
		return &http.Client{Timeout: timeout}, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}
