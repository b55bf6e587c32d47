package authz

import (
	"net/url"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputPeerTerm builds input.peer: the identity of the workload that called the API, from
// the principal Envoy reports for the downstream TLS peer (the URI SAN of its client
// certificate, else its subject). In an Istio mesh that is a SPIFFE ID,
// spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT, and its parts are given
// separately so a policy can allow a namespace without parsing strings. It is nil when
// Envoy reports no principal: the caller did not use mTLS.
func inputPeerTerm(principal string) *ast.Term {
	if principal == "" {
		return nil
	}
	obj := ast.NewObject(ast.Item(ast.StringTerm("principal"), ast.StringTerm(principal)))
	td, ns, sa, ok := spiffeParts(principal)
	if !ok {
		return ast.NewTerm(obj)
	}
	obj.Insert(ast.StringTerm("trust_domain"), ast.StringTerm(td))
	if ns != "" {
		obj.Insert(ast.StringTerm("namespace"), ast.StringTerm(ns))
		obj.Insert(ast.StringTerm("service_account"), ast.StringTerm(sa))
	}
	return ast.NewTerm(obj)
}

// spiffeParts splits a SPIFFE ID. ok is false for anything that is not one (SPIFFE ID
// standard §2: scheme spiffe, a trust domain, no port, user info, query or fragment).
// ns and sa are set only for Istio's /ns/NAMESPACE/sa/SERVICE_ACCOUNT path.
func spiffeParts(id string) (td, ns, sa string, ok bool) {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "spiffe" || u.Host == "" || u.Port() != "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", "", "", false
	}
	segs := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(segs) == 4 && segs[0] == "ns" && segs[2] == "sa" && segs[1] != "" && segs[3] != "" {
		ns, sa = segs[1], segs[3]
	}
	return u.Host, ns, sa, true
}
