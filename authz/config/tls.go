package config

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/tollgate/tollgate/authz/certs"
)

// TLS serves a listener over TLS, and over mutual TLS with ClientCAFile. The files'
// contents are read again when they change (a renewed certificate, a rotated
// Kubernetes Secret) and take effect from the next handshake, without a restart; the
// file names and MinVersion apply only after a restart.
type TLS struct {
	// CertFile is the PEM certificate chain the listener presents, leaf first; TLS is
	// on when it is set, and KeyFile must be set with it.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile's leaf.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, is a PEM bundle of CAs, and every client must present a
	// certificate that chains to one of them (mTLS). On http that includes the
	// kubelet's httpGet probes of /healthz and /readyz, which present none: probe with
	// exec instead, or with a kubelet gRPC probe of a plaintext grpc listener.
	ClientCAFile string `yaml:"client_ca_file"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default, also when left
	// out or empty) or "1.3".
	MinVersion string `yaml:"min_version"`
}

// tlsVersions are the versions min_version accepts; older ones are broken.
var tlsVersions = map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// On reports whether the listener serves TLS.
func (t TLS) On() bool { return t.CertFile != "" }

// Mode describes the listener's transport for logs: "plaintext", "tls" or "mtls".
func (t TLS) Mode() string {
	switch {
	case !t.On():
		return "plaintext"
	case t.ClientCAFile != "":
		return "mtls"
	}
	return "tls"
}

// Options are the listener's files as the certs package takes them.
func (t TLS) Options() certs.Options {
	return certs.Options{
		CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile,
		MinVersion: tlsVersions[t.MinVersion],
	}
}

// validate checks the keys that go together, not the files; CheckTLSFiles reads them.
func (t TLS) validate(prefix string) []error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("%s.tls.%s: %s", prefix, field, msg)) }
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		bad("key_file", "is required with cert_file")
	case t.CertFile == "" && t.KeyFile != "":
		bad("cert_file", "is required with key_file")
	}
	if t.ClientCAFile != "" && !t.On() {
		bad("client_ca_file", "needs cert_file and key_file: mTLS is TLS with client certificates")
	}
	if _, ok := tlsVersions[t.MinVersion]; !ok {
		bad("min_version", fmt.Sprintf("%q: use \"1.2\" or \"1.3\"", t.MinVersion))
	}
	return errs
}

// tlsFileKeys are the keys of a listener's files, for the errors of CheckTLSFiles.
var tlsFileKeys = map[certs.File]string{certs.Cert: "cert_file", certs.Key: "key_file", certs.ClientCA: "client_ca_file"}

// listenerTLS is a listener's TLS settings and the key they sit under.
type listenerTLS struct {
	key string
	tls TLS
}

// listenersTLS are the TLS settings of the listeners that run: the check listener's
// unless it is off, the admin API's only in store mode.
func (c *Config) listenersTLS() []listenerTLS {
	l := []listenerTLS{{"grpc", c.GRPC.TLS}, {"http", c.HTTP.TLS}}
	if c.Check.On() {
		l = append(l, listenerTLS{"check", c.Check.TLS})
	}
	if c.Store != nil {
		l = append(l, listenerTLS{"admin", c.Admin.TLS})
	}
	return l
}

// CheckTLSFiles reads the TLS files of every listener that runs and reports each one
// that cannot serve: unreadable, not PEM, a key that does not match its certificate,
// a client CA file without a certificate. `tollgate serve` calls it before it listens.
// Load does not, as the other commands load this file too and must not need the
// server's private keys; nor does a reload, whose TLS settings wait for a restart.
func (c *Config) CheckTLSFiles() error {
	var errs []error
	for _, l := range c.listenersTLS() {
		if !l.tls.On() {
			continue
		}
		for _, e := range certs.Check(l.tls.Options()) {
			errs = append(errs, fmt.Errorf("%s.tls.%s: %w", l.key, tlsFileKeys[e.File], e.Err))
		}
	}
	return errors.Join(errs...)
}
