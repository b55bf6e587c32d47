package envoyconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/config"
)

const mtlsSample = "envoy-mtls.yaml"

// With Tollgate's configuration, the cluster Envoy calls it through must speak as its
// gRPC listener listens: plaintext, TLS, or TLS with a client certificate.
func TestTransportToTollgate(t *testing.T) {
	plain, err := config.Load("../../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mtls := *plain
	mtls.GRPC.TLS = config.TLS{CertFile: "tollgate.crt", KeyFile: "tollgate.key", ClientCAFile: "envoy-ca.crt"}
	serverTLS := *plain
	serverTLS.GRPC.TLS = config.TLS{CertFile: "tollgate.crt", KeyFile: "tollgate.key"}
	noClientCert := func(doc string) string {
		i := strings.Index(doc, "            tls_certificates:")
		j := strings.Index(doc, "            # Tollgate's server certificate must chain")
		if i < 0 || j < i {
			t.Fatal("envoy-mtls.yaml no longer has its tls_certificates block")
		}
		return doc[:i] + doc[j:]
	}
	tests := []struct {
		name     string
		sample   string
		edit     func(string) string
		tollgate *config.Config
		want     string // "" when the file must pass
	}{
		{"mTLS sample, mTLS Tollgate", mtlsSample, nil, &mtls, ""},
		{"mTLS sample, TLS-only Tollgate", mtlsSample, nil, &serverTLS, ""},
		{"plaintext sample, plaintext Tollgate", "envoy.yaml", nil, plain, ""},
		{"plaintext sample, mTLS Tollgate", "envoy.yaml", nil, &mtls, `cluster "tollgate" speaks plaintext, but Tollgate's grpc listener serves TLS`},
		{"mTLS sample, plaintext Tollgate", mtlsSample, nil, plain, `cluster "tollgate" speaks TLS, but Tollgate's grpc listener serves plaintext`},
		{"no client certificate, mTLS Tollgate", mtlsSample, noClientCert, &mtls, `cluster "tollgate" presents no client certificate`},
		{"no client certificate, TLS-only Tollgate", mtlsSample, noClientCert, &serverTLS, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samples, tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			doc := string(raw)
			if tt.edit != nil {
				doc = tt.edit(doc)
			}
			assertVerdict(t, tt.sample, doc, tt.tollgate, tt.want)
		})
	}
}

// Envoy's HTTP service must call Tollgate's check listener under its Envoy prefix.
func TestHTTPServiceToTollgate(t *testing.T) {
	on, err := config.Load("../../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	off := *on
	off.Check.Address = ""
	moved := *on
	moved.Check.Address = "127.0.0.1:8282"
	tests := []struct {
		name     string
		edit     func(string) string
		tollgate *config.Config
		want     string // "" when the file must pass
	}{
		{"as shipped", nil, on, ""},
		{"without Tollgate's configuration", nil, nil, ""},
		{"another path prefix", func(s string) string {
			return strings.Replace(s, "path_prefix: /ext_authz/envoy", "path_prefix: /ext_authz/nginx", 1)
		}, nil, `path_prefix: is "/ext_authz/nginx": Tollgate answers Envoy's HTTP checks under /ext_authz/envoy only`},
		{"check listener off", nil, &off, `calls Tollgate's HTTP check endpoints, but check.address`},
		{"check listener elsewhere", nil, &moved, "is not Tollgate's check port 8282"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(samples, "envoy-http.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			doc := string(raw)
			if tt.edit != nil {
				if doc = tt.edit(doc); doc == string(raw) {
					t.Fatal("the edit changed nothing: the sample changed")
				}
			}
			assertVerdict(t, "envoy-http.yaml", doc, tt.tollgate, tt.want)
		})
	}
}

// assertVerdict validates doc as the file name, with Tollgate's configuration, and
// wants it to pass (want "") or to draw an error containing want.
func assertVerdict(t *testing.T, name, doc string, tollgate *config.Config, want string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, doc)
	reports, err := ValidateFiles([]string{path}, Options{TollgateConfig: tollgate})
	if err != nil {
		t.Fatal(err)
	}
	r := reportOf(t, reports, path)
	if want == "" {
		if !r.OK() {
			t.Errorf("refused:\n%s", findings(r))
		}
		return
	}
	if !hasFinding(r, Error, want) {
		t.Errorf("no error containing %q among:\n%s", want, findings(r))
	}
}
