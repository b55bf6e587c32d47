package tollgate.authz_test

import data.tollgate.authz

# ---------------------------------------------------------------------------------------
# Fixtures: the data document Tollgate builds, and inputs as Go hands them over.

apis := {
	"orders": {
		"name": "orders",
		"context": "/orders",
		"hosts": [],
		"resources": {
			"GET /orders/{id}": {"method": "GET", "path": "/orders/{id}", "scopes": ["urn:acme:orders:read"], "auth": "required"},
			"POST /orders": {"method": "POST", "path": "/orders", "scopes": ["urn:acme:orders:write", "urn:acme:orders:read"], "auth": "required"},
			"GET /orders/health": {"method": "GET", "path": "/orders/health", "scopes": [], "auth": "required"},
			"GET /orders/docs/*": {"method": "GET", "path": "/orders/docs/*", "scopes": [], "auth": "none"},
		},
	},
	"reports": {
		"name": "reports",
		"context": "/reports",
		"hosts": [],
		"resources": {"GET /reports": {"method": "GET", "path": "/reports", "scopes": [], "auth": "required"}},
	},
}

client_ids := {"asgardeo": {
	"web-prod": {"application": "shop-web", "environment": "production"},
	"web-sandbox": {"application": "shop-web", "environment": "sandbox"},
	"orphan-app": {"application": "unsubscribed", "environment": "production"},
}}

subscriptions := {"shop-web": {
	"orders": {"status": "active"},
	"reports": {"status": "blocked"},
}}

route(api, resource) := {"api": api, "resource": resource, "path": "/x", "params": {}}

token(client_id, scopes) := {
	"issuer": "asgardeo",
	"client_id": client_id,
	"subject": "alice@acme.test",
	"scopes": scopes,
	"claims": {},
}

get_order := {"route": route("orders", "GET /orders/{id}"), "token": token("web-prod", ["urn:acme:orders:read"])}

decide(req) := d if {
	d := authz.decision with input as req
		with data.tollgate.apis as apis
		with data.tollgate.client_ids as client_ids
		with data.tollgate.subscriptions as subscriptions
}

denied_with(d, code, status) if {
	d.allowed == false
	d.reason == code
	d.http_status == status
}

# ---------------------------------------------------------------------------------------
# route

test_no_route_is_404 if {
	d := decide({"token": token("web-prod", [])})
	denied_with(d, "no_matching_resource", 404)
	not d.headers["www-authenticate"]
}

test_route_missing_from_data_is_404 if {
	d := decide({"route": route("orders", "DELETE /orders/{id}"), "token": get_order.token})
	denied_with(d, "no_matching_resource", 404)
	contains(d.description, "DELETE /orders/{id}")
}

test_route_to_unknown_api_is_404 if {
	d := decide({"route": route("nope", "GET /x")})
	denied_with(d, "no_matching_resource", 404)
}

# ---------------------------------------------------------------------------------------
# public

test_public_allows_without_token if {
	d := decide({"route": route("orders", "GET /orders/docs/*")})
	d.allowed == true
	d.headers == {"x-tollgate-api": "orders"}
}

test_public_ignores_token_error if {
	d := decide({"route": route("orders", "GET /orders/docs/*"), "token_error": {"code": "invalid_token", "description": "x"}})
	d.allowed == true
}

# ---------------------------------------------------------------------------------------
# token

test_token_error_invalid_token if {
	d := decide({"route": get_order.route, "token_error": {"code": "invalid_token", "reason": "token_expired", "description": "the access token expired"}})
	denied_with(d, "invalid_token", 401)
	d.description == "the access token expired"
	d.headers["www-authenticate"] == `Bearer error="invalid_token", error_description="the access token expired"`
}

test_token_error_invalid_request if {
	d := decide({"route": get_order.route, "token_error": {"code": "invalid_request", "reason": "multiple_credentials", "description": "two"}})
	denied_with(d, "invalid_request", 400)
	d.headers["www-authenticate"] == `Bearer error="invalid_request"`
}

test_missing_token if {
	d := decide({"route": get_order.route})
	denied_with(d, "missing_token", 401)
	d.headers["www-authenticate"] == `Bearer realm="tollgate"`
}

# ---------------------------------------------------------------------------------------
# application and subscription

test_unknown_application if {
	d := decide({"route": get_order.route, "token": token("stranger", ["urn:acme:orders:read"])})
	denied_with(d, "unknown_application", 403)
	contains(d.description, `"stranger"`)
	not d.headers["www-authenticate"]
}

test_not_subscribed if {
	d := decide({"route": get_order.route, "token": token("orphan-app", ["urn:acme:orders:read"])})
	denied_with(d, "not_subscribed", 403)
	contains(d.description, "not subscribed")
}

test_blocked_subscription if {
	d := decide({"route": route("reports", "GET /reports"), "token": token("web-prod", [])})
	denied_with(d, "not_subscribed", 403)
	contains(d.description, "blocked")
}

test_prod_only_blocked_refuses_production if {
	subs := {"shop-web": {"orders": {"status": "prod_only_blocked"}}}
	d := authz.decision with input as get_order
		with data.tollgate.apis as apis
		with data.tollgate.client_ids as client_ids
		with data.tollgate.subscriptions as subs
	denied_with(d, "not_subscribed", 403)
	contains(d.description, "prod_only_blocked for production keys")
}

test_prod_only_blocked_allows_sandbox if {
	subs := {"shop-web": {"orders": {"status": "prod_only_blocked"}}}
	req := {"route": get_order.route, "token": token("web-sandbox", ["urn:acme:orders:read"])}
	d := authz.decision with input as req
		with data.tollgate.apis as apis
		with data.tollgate.client_ids as client_ids
		with data.tollgate.subscriptions as subs
	d.allowed == true
}

# ---------------------------------------------------------------------------------------
# scopes

test_insufficient_scope_names_missing_and_required if {
	d := decide({"route": route("orders", "POST /orders"), "token": token("web-prod", ["urn:acme:orders:read"])})
	denied_with(d, "insufficient_scope", 403)
	d.description == "the token lacks scope urn:acme:orders:write"
	d.headers["www-authenticate"] == `Bearer error="insufficient_scope", scope="urn:acme:orders:write urn:acme:orders:read"`
}

test_token_without_scopes if {
	d := decide({"route": get_order.route, "token": object.remove(get_order.token, ["scopes"])})
	denied_with(d, "insufficient_scope", 403)
}

test_resource_without_scopes_needs_only_a_token if {
	d := decide({"route": route("orders", "GET /orders/health"), "token": token("web-prod", [])})
	d.allowed == true
}

# ---------------------------------------------------------------------------------------
# allow

test_allow_sets_identity_headers if {
	d := decide(get_order)
	d.allowed == true
	d.reason == "allowed"
	d.headers == {
		"x-tollgate-api": "orders",
		"x-tollgate-issuer": "asgardeo",
		"x-tollgate-application": "shop-web",
		"x-tollgate-client-id": "web-prod",
		"x-tollgate-subject": "alice@acme.test",
		"x-tollgate-scopes": "urn:acme:orders:read",
	}
}

test_allow_with_empty_subject_omits_header if {
	d := decide({"route": get_order.route, "token": object.union(get_order.token, {"subject": ""})})
	d.allowed == true
	not d.headers["x-tollgate-subject"]
}

test_allow_without_subject_omits_header if {
	d := decide({"route": get_order.route, "token": object.remove(get_order.token, ["subject"])})
	d.allowed == true
	not d.headers["x-tollgate-subject"]
}

# ---------------------------------------------------------------------------------------
# rules added by policy authors

test_author_deny_on_protected_resource if {
	d := authz.decision with input as get_order
		with data.tollgate.apis as apis
		with data.tollgate.client_ids as client_ids
		with data.tollgate.subscriptions as subscriptions
		with data.tollgate.authz.deny as {"b rule", "a rule"}
	denied_with(d, "access_denied", 403)
	d.description == "a rule; b rule"
}

test_author_deny_on_public_resource if {
	d := authz.decision with input as {"route": route("orders", "GET /orders/docs/*")}
		with data.tollgate.apis as apis
		with data.tollgate.authz.deny as {"closed"}
	denied_with(d, "access_denied", 403)
}

test_author_deny_comes_after_builtin_checks if {
	d := authz.decision with input as {"route": get_order.route}
		with data.tollgate.apis as apis
		with data.tollgate.authz.deny as {"closed"}
	denied_with(d, "missing_token", 401)
}

test_author_headers_merge_and_ours_win if {
	d := authz.decision with input as get_order
		with data.tollgate.apis as apis
		with data.tollgate.client_ids as client_ids
		with data.tollgate.subscriptions as subscriptions
		with data.tollgate.authz.extra_headers as {"x-tier": "gold", "x-tollgate-api": "forged"}
	d.allowed == true
	d.headers["x-tier"] == "gold"
	d.headers["x-tollgate-api"] == "orders"
}
