# Example: an API only some workloads of the mesh may call.
# Copy this file into the policies directory and edit mesh_callers. It adds a deny
# rule to the shipped policy: after the token, application, subscription and scopes
# are checked, a call to a listed API must also come from a listed workload.
#
# The workload is the mTLS peer that called the proxy, as Envoy reports it in the
# CheckRequest (source.principal) and Tollgate gives it in input.peer: an Istio
# sidecar fills it from the caller's SPIFFE certificate, so input.peer is
# {principal, trust_domain, namespace, service_account}. Without mTLS to the proxy
# there is no principal, and a listed API is refused.
package tollgate.authz

# API name -> who may call it: a trust domain, with the namespaces whose workloads may,
# and single service accounts (SPIFFE IDs) besides.
mesh_callers := {"payments": {
	"trust_domain": "cluster.local",
	"namespaces": {"shop"},
	"principals": {"spiffe://cluster.local/ns/billing/sa/reconciler"},
}}

deny contains sprintf("API %s accepts calls only from workloads of the mesh (mTLS)", [input.route.api]) if {
	mesh_callers[input.route.api]
	not input.peer
}

deny contains sprintf("workload %s may not call API %s", [input.peer.principal, input.route.api]) if {
	rule := mesh_callers[input.route.api]
	not mesh_caller_allowed(rule, input.peer)
}

mesh_caller_allowed(rule, peer) if {
	peer.trust_domain == rule.trust_domain
	peer.namespace in rule.namespaces
}

mesh_caller_allowed(rule, peer) if peer.principal in rule.principals
