package envoyconf

import (
	"maps"
	"slices"
	"strings"

	securityv1beta1 "istio.io/api/security/v1beta1"
)

// checkPolicy decodes an AuthorizationPolicy's spec strictly and checks that a CUSTOM
// policy asks an ext_authz provider the mesh config defines, for some request at least.
func (m *mesh) checkPolicy(o object) {
	var ap securityv1beta1.AuthorizationPolicy
	sp := field(o.path, "spec")
	if !decode(o.doc["spec"], &ap, sp, o.r) {
		return
	}
	if ap.GetAction() != securityv1beta1.AuthorizationPolicy_CUSTOM {
		if ap.GetProvider() != nil {
			o.r.errorf(field(sp, "provider"), "is only for action: CUSTOM; Istio refuses it with %s", ap.GetAction())
		}
		return
	}
	if len(ap.GetRules()) == 0 {
		o.r.errorf(field(sp, "rules"), "is empty: a policy without rules matches no request, so Tollgate is never asked; use rules: [{}] to send it every request")
	}
	m.checkProviderName(o, ap.GetProvider().GetName(), field(sp, "provider.name"))
}

// checkProviderName checks that a CUSTOM policy's provider is an ext_authz provider of
// the mesh config, when one is among the files.
func (m *mesh) checkProviderName(o object, name, p string) {
	if name == "" {
		o.r.errorf(p, "is required with action: CUSTOM: name the mesh config's extension provider for Tollgate")
		return
	}
	if m.meshConfigs == 0 {
		o.r.notef(p, "no mesh config (IstioOperator spec.meshConfig, or the istio ConfigMap) among the files: provider %q is not checked", name)
		return
	}
	prov, ok := m.providers[name]
	switch {
	case !ok:
		o.r.errorf(p, "provider %q is not among the mesh config's extensionProviders (%s)", name, strings.Join(slices.Sorted(maps.Keys(m.providers)), ", "))
	case !prov.extAuthz:
		o.r.errorf(p, "provider %q is not an envoyExtAuthzGrpc or envoyExtAuthzHttp provider", name)
	}
}
