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
			path := filepath.Join(t.TempDir(), tt.sample)
			writeFile(t, path, doc)
			reports, err := ValidateFiles([]string{path}, Options{TollgateConfig: tt.tollgate})
			if err != nil {
				t.Fatal(err)
			}
			r := reportOf(t, reports, path)
			if tt.want == "" {
				if !r.OK() {
					t.Errorf("refused:\n%s", findings(r))
				}
				return
			}
			if !hasFinding(r, Error, tt.want) {
				t.Errorf("no error containing %q among:\n%s", tt.want, findings(r))
			}
		})
	}
}
