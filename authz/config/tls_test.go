package config

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/certs/certstest"
)

func TestParseTLS(t *testing.T) {
	tests := []struct {
		name  string
		extra string
		check func(*Config) bool
	}{
		{"off by default", "",
			func(c *Config) bool {
				return !c.GRPC.TLS.On() && c.GRPC.TLS.Mode() == "plaintext" && c.STS.Issuer == "http://localhost:8080"
			}},
		{"tls on grpc", "grpc:\n  tls: {cert_file: s.crt, key_file: s.key}\n",
			func(c *Config) bool {
				return c.GRPC.TLS == TLS{CertFile: "s.crt", KeyFile: "s.key"} && c.GRPC.TLS.Options().MinVersion == tls.VersionTLS12 && c.GRPC.TLS.Mode() == "tls" &&
					c.GRPC.Address == ":9191" && !c.HTTP.TLS.On()
			}},
		{"mtls on grpc, TLS 1.3", "grpc:\n  tls: {cert_file: s.crt, key_file: s.key, client_ca_file: ca.crt, min_version: \"1.3\"}\n",
			func(c *Config) bool {
				o := c.GRPC.TLS.Options()
				return c.GRPC.TLS.Mode() == "mtls" && o.MinVersion == tls.VersionTLS13 && o.ClientCAFile == "ca.crt"
			}},
		{"min_version unquoted", "http: {tls: {cert_file: s.crt, key_file: s.key, min_version: 1.3}}\n",
			func(c *Config) bool { return c.HTTP.TLS.Options().MinVersion == tls.VersionTLS13 }},
		{"a cert file that holds the key too", "http: {tls: {cert_file: s.pem, key_file: s.pem}}\n",
			func(c *Config) bool { return c.HTTP.TLS.On() }},
		{"empty tls block", "grpc: {tls: }\n",
			func(c *Config) bool { return !c.GRPC.TLS.On() }},
		{"the STS issuer is https with http.tls", "http:\n  address: \":8443\"\n  tls: {cert_file: s.crt, key_file: s.key}\n",
			func(c *Config) bool { return c.STS.Issuer == "https://localhost:8443" }},
		{"admin tls", "admin: {tls: {cert_file: a.crt, key_file: a.key, client_ca_file: ops.crt}}\n",
			func(c *Config) bool { return c.Admin.TLS.Mode() == "mtls" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg := mustParse(t, doc(tt.extra)); !tt.check(cfg) {
				t.Errorf("unexpected config %+v", *cfg)
			}
		})
	}
}

func TestParseTLSErrors(t *testing.T) {
	store := "policies: p\nstore: {path: s.db}\n"
	tests := []struct {
		name string
		raw  string
		want []string
	}{
		{"cert without key", doc("grpc: {tls: {cert_file: s.crt}}\n"), []string{"grpc.tls.key_file: is required with cert_file"}},
		{"key without cert", doc("http: {tls: {key_file: s.key}}\n"), []string{"http.tls.cert_file: is required with key_file"}},
		{"client CA without a certificate", doc("grpc: {tls: {client_ca_file: ca.crt}}\n"), []string{"grpc.tls.client_ca_file", "needs cert_file"}},
		{"TLS 1.1", doc("grpc: {tls: {cert_file: s.crt, key_file: s.key, min_version: \"1.1\"}}\n"), []string{"grpc.tls.min_version", `"1.1"`}},
		{"TLS 1.0 unquoted", doc("grpc: {tls: {min_version: 1.0}}\n"), []string{"grpc.tls.min_version", `"1.0"`}},
		{"admin cert without key", store + "admin: {tls: {cert_file: a.crt}}\n", []string{"admin.tls.key_file"}},
		{"unknown key under tls", doc("grpc:\n  tls:\n    cert_file: s.crt\n    key_file: s.key\n    ciphers: [RC4]\n"),
			[]string{`unknown key "ciphers"`, "line 7"}},
		{"tls is not a string", doc("grpc: {tls: on}\n"), []string{"line 3"}},
		{"every listener at once", store + "grpc: {tls: {cert_file: g}}\nhttp: {tls: {key_file: h}}\nadmin: {tls: {min_version: \"1.0\"}}\n",
			[]string{"grpc.tls.key_file", "http.tls.cert_file", "admin.tls.min_version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", *cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadResolvesTLSPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "c.yaml")
	writeFile(t, path, doc("grpc: {tls: {cert_file: tls/s.crt, key_file: /abs/s.key, client_ca_file: ../ca.crt}}\n"))
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := TLS{CertFile: filepath.Join(dir, "conf", "tls", "s.crt"), KeyFile: "/abs/s.key",
		ClientCAFile: filepath.Join(dir, "ca.crt")}
	if cfg.GRPC.TLS != want {
		t.Errorf("grpc.tls = %+v, want %+v", cfg.GRPC.TLS, want)
	}
}

// tlsFiles are good and bad PEM files for CheckTLSFiles, in one directory.
type tlsFiles struct {
	dir                 string
	cert, key, ca       string // a server pair and the CA that issued it
	otherKey            string // a key of another certificate
	garbage, empty, cut string
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	ca := certstest.NewCA(t, "test CA")
	f := tlsFiles{dir: t.TempDir()}
	f.cert, f.key = ca.Server(t, "tollgate").WriteFiles(t, f.dir, "server")
	_, f.otherKey = ca.Server(t, "other").WriteFiles(t, f.dir, "other")
	f.ca = ca.WriteCert(t, filepath.Join(f.dir, "ca.crt"))
	f.garbage, f.empty, f.cut = filepath.Join(f.dir, "garbage"), filepath.Join(f.dir, "empty"), filepath.Join(f.dir, "cut")
	certstest.Write(t, f.garbage, []byte("not PEM at all\n"))
	certstest.Write(t, f.empty, nil)
	certstest.Write(t, f.cut, ca.CertPEM[:len(ca.CertPEM)/2])
	return f
}

func TestCheckTLSFiles(t *testing.T) {
	f := newTLSFiles(t)
	missing := filepath.Join(f.dir, "missing.crt")
	unreadable := f.dir // a directory: unreadable as a file even to root
	tests := []struct {
		name  string
		edit  func(*Config)
		want  []string // substrings of the error; none when the files can serve
		never string   // what the error must not contain
	}{
		{"no TLS", func(*Config) {}, nil, ""},
		{"tls", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.key} }, nil, ""},
		{"mtls on every listener", func(c *Config) {
			for _, l := range []*TLS{&c.GRPC.TLS, &c.HTTP.TLS, &c.Admin.TLS} {
				*l = TLS{CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.ca}
			}
			c.Store = &Store{Path: "s.db"}
		}, nil, ""},
		{"missing cert file", func(c *Config) { c.GRPC.TLS = TLS{CertFile: missing, KeyFile: f.key} },
			[]string{"grpc.tls.cert_file: open " + missing}, ""},
		{"unreadable key file", func(c *Config) { c.HTTP.TLS = TLS{CertFile: f.cert, KeyFile: unreadable} },
			[]string{"http.tls.key_file: read " + unreadable}, ""},
		{"cert not PEM", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.garbage, KeyFile: f.key} },
			[]string{"grpc.tls.cert_file: " + f.garbage + ": no PEM CERTIFICATE block"}, ""},
		{"cert cut short", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cut, KeyFile: f.key} },
			[]string{"grpc.tls.cert_file", "cut short"}, ""},
		{"key not PEM", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.garbage} },
			[]string{"grpc.tls.key_file: " + f.garbage}, ""},
		{"key of another certificate", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.otherKey} },
			[]string{"grpc.tls.key_file: " + f.otherKey, "does not match"}, "PRIVATE KEY"},
		{"a certificate as the key", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.cert} },
			[]string{"grpc.tls.key_file"}, ""},
		{"empty client CA", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.empty} },
			[]string{"grpc.tls.client_ca_file: " + f.empty + ": no PEM CERTIFICATE block"}, ""},
		{"client CA is a key", func(c *Config) { c.GRPC.TLS = TLS{CertFile: f.cert, KeyFile: f.key, ClientCAFile: f.key} },
			[]string{"grpc.tls.client_ca_file", "no PEM CERTIFICATE block"}, "PRIVATE KEY"},
		{"admin is checked in store mode", func(c *Config) {
			c.Admin.TLS = TLS{CertFile: missing, KeyFile: f.key}
			c.Store = &Store{Path: "s.db"}
		}, []string{"admin.tls.cert_file"}, ""},
		{"admin is not checked without a store", func(c *Config) { c.Admin.TLS = TLS{CertFile: missing, KeyFile: f.key} }, nil, ""},
		{"every problem at once", func(c *Config) {
			c.GRPC.TLS = TLS{CertFile: missing, KeyFile: unreadable, ClientCAFile: f.garbage}
			c.HTTP.TLS = TLS{CertFile: f.cert, KeyFile: f.otherKey}
		}, []string{"grpc.tls.cert_file", "grpc.tls.key_file", "grpc.tls.client_ca_file", "http.tls.key_file"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.edit(&cfg)
			err := cfg.CheckTLSFiles()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckTLSFiles: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckTLSFiles succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.never != "" && strings.Contains(err.Error(), tt.never) {
				t.Errorf("error %q contains %q", err, tt.never)
			}
		})
	}
}
