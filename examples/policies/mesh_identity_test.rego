package tollgate.authz.mesh_identity_test

import data.tollgate.authz

payments := {"route": {"api": "payments", "resource": "GET /payments/{id}", "path": "/payments/7", "params": {}}}

orders := {"route": {"api": "orders", "resource": "GET /orders/{id}", "path": "/orders/7", "params": {}}}

peer(principal, td, ns, sa) := {"principal": principal, "trust_domain": td, "namespace": ns, "service_account": sa}

web := peer("spiffe://cluster.local/ns/shop/sa/web", "cluster.local", "shop", "web")

test_namespace_allowed if {
	count(authz.deny) == 0 with input as object.union(payments, {"peer": web})
}

test_listed_principal_allowed if {
	reconciler := peer("spiffe://cluster.local/ns/billing/sa/reconciler", "cluster.local", "billing", "reconciler")
	count(authz.deny) == 0 with input as object.union(payments, {"peer": reconciler})
}

test_other_namespace_denied if {
	batch := peer("spiffe://cluster.local/ns/batch/sa/job", "cluster.local", "batch", "job")
	authz.deny == {"workload spiffe://cluster.local/ns/batch/sa/job may not call API payments"} with input as object.union(payments, {"peer": batch})
}

test_other_trust_domain_denied if {
	foreign := peer("spiffe://evil.test/ns/shop/sa/web", "evil.test", "shop", "web")
	count(authz.deny) == 1 with input as object.union(payments, {"peer": foreign})
}

test_principal_that_is_not_spiffe_denied if {
	count(authz.deny) == 1 with input as object.union(payments, {"peer": {"principal": "CN=web"}})
}

test_no_mtls_denied if {
	authz.deny == {"API payments accepts calls only from workloads of the mesh (mTLS)"} with input as payments
}

test_unlisted_api_untouched if {
	count(authz.deny) == 0 with input as orders
}
