package authz

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func TestInputPeer(t *testing.T) {
	tests := []struct{ principal, want string }{
		{"spiffe://cluster.local/ns/shop/sa/web", `{"principal": "spiffe://cluster.local/ns/shop/sa/web", "trust_domain": "cluster.local", "namespace": "shop", "service_account": "web"}`},
		{"spiffe://prod.acme.test/workload/batch", `{"principal": "spiffe://prod.acme.test/workload/batch", "trust_domain": "prod.acme.test"}`},
		{"spiffe://cluster.local", `{"principal": "spiffe://cluster.local", "trust_domain": "cluster.local"}`},
		{"spiffe://cluster.local/ns//sa/web", `{"principal": "spiffe://cluster.local/ns//sa/web", "trust_domain": "cluster.local"}`},
		{"spiffe://cluster.local/ns/shop/sa/web/extra", `{"principal": "spiffe://cluster.local/ns/shop/sa/web/extra", "trust_domain": "cluster.local"}`},
		// Not SPIFFE IDs: the principal is given as Envoy reported it, without parts.
		{"CN=web,O=Acme", `{"principal": "CN=web,O=Acme"}`},
		{"spiffe://cluster.local:8443/ns/shop/sa/web", `{"principal": "spiffe://cluster.local:8443/ns/shop/sa/web"}`},
		{"spiffe://user@cluster.local/ns/shop/sa/web", `{"principal": "spiffe://user@cluster.local/ns/shop/sa/web"}`},
		{"spiffe://cluster.local/ns/shop/sa/web?x=1", `{"principal": "spiffe://cluster.local/ns/shop/sa/web?x=1"}`},
		{"spiffe:///ns/shop/sa/web", `{"principal": "spiffe:///ns/shop/sa/web"}`},
		{"https://cluster.local/ns/shop/sa/web", `{"principal": "https://cluster.local/ns/shop/sa/web"}`},
		{"spiffe://%zz/ns/a/sa/b", `{"principal": "spiffe://%zz/ns/a/sa/b"}`},
	}
	for _, tt := range tests {
		got := inputPeerTerm(tt.principal)
		if got == nil || got.Value.Compare(ast.MustParseTerm(tt.want).Value) != 0 {
			t.Errorf("peer of %q = %v; want %s", tt.principal, got, tt.want)
		}
	}
	if inputPeerTerm("") != nil {
		t.Error("peer without a principal")
	}
}
