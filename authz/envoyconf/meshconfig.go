package envoyconf

import (
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"github.com/tollgate/tollgate/authz"
)

// checkMeshConfig decodes an Istio mesh config strictly, checks its ext_authz
// providers, and records every provider for the policies that name one. A mesh config
// with an ext_authz provider must also normalise paths so that Tollgate judges the path
// the workload serves.
func (m *mesh) checkMeshConfig(o object, tree any, path string) {
	var mc meshv1alpha1.MeshConfig
	if !decode(tree, &mc, path, o.r) {
		return
	}
	m.meshConfigs++
	extAuthz := false
	for i, p := range mc.GetExtensionProviders() {
		pp := index(field(path, "extensionProviders"), i)
		if prev, dup := m.providers[p.GetName()]; dup {
			o.r.errorf(field(pp, "name"), "provider %q is also defined at %s %s", p.GetName(), prev.o.r.file, prev.path)
			continue
		}
		at := providerAt{o: o, path: pp}
		if g := p.GetEnvoyExtAuthzGrpc(); g != nil {
			at = providerAt{o: o, path: field(pp, "envoyExtAuthzGrpc"), extAuthz: true, grpc: true, service: g.GetService(), port: g.GetPort()}
			checkProvider(at, g.GetFailOpen())
		}
		if h := p.GetEnvoyExtAuthzHttp(); h != nil {
			at = providerAt{o: o, path: field(pp, "envoyExtAuthzHttp"), extAuthz: true, service: h.GetService(), port: h.GetPort()}
			checkProvider(at, h.GetFailOpen())
			checkUpstreamOnAllow(at, h.GetHeadersToUpstreamOnAllow())
		}
		m.providers[p.GetName()] = at
		extAuthz = extAuthz || at.extAuthz
	}
	if extAuthz {
		checkPathNormalization(o, &mc, path)
	}
}

// checkProvider refuses an ext_authz provider that lets requests through when it
// cannot be reached, or that names nothing to call.
func checkProvider(p providerAt, failOpen bool) {
	if failOpen {
		p.o.r.errorf(field(p.path, "failOpen"), "is true: when Tollgate cannot be reached, requests go to the workload unchecked; set it to false")
	}
	if p.service == "" {
		p.o.r.errorf(field(p.path, "service"), "is empty: name Tollgate's Service, such as tollgate.tollgate.svc.cluster.local")
	}
	if p.port == 0 {
		p.o.r.errorf(field(p.path, "port"), "is missing: set the port of Tollgate's Service")
	}
}

// checkUpstreamOnAllow warns when an HTTP provider keeps Tollgate's identity headers
// from the workload: Istio copies only the headers headersToUpstreamOnAllow names.
func checkUpstreamOnAllow(p providerAt, patterns []string) {
	var missing []string
	for _, h := range authz.IdentityHeaders() {
		if !istioHeaderMatch(patterns, h) {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		p.o.r.warnf(field(p.path, "headersToUpstreamOnAllow"), "does not name %s: the workload never gets them from Tollgate (add %q)", quoted(missing), authz.IdentityHeaderPrefix+"*")
	}
}

// istioHeaderMatch matches a header name against Istio's patterns: exact, "prefix*",
// "*suffix" or "*", without regard to case.
func istioHeaderMatch(patterns []string, name string) bool {
	for _, p := range patterns {
		p = strings.ToLower(p)
		switch {
		case p == "*":
			return true
		case strings.HasSuffix(p, "*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*")):
			return true
		case strings.HasPrefix(p, "*") && strings.HasSuffix(name, strings.TrimPrefix(p, "*")):
			return true
		case p == name:
			return true
		}
	}
	return false
}
