# METADATA
# title: Tollgate's shipped authorization policy
# description: |
#   Decides every Check. Go has already matched the route (input.route) and verified
#   the bearer token (input.token, or input.token_error with a stable reason); this
#   policy makes the decision, in a fixed order:
#     route -> public -> token -> application -> subscription -> scopes -> deny rules.
#   To add rules without editing this file, add another .rego file in this package:
#     deny contains "description" if { ... }          # extra deny rules (403 access_denied)
#     extra_headers["x-name"] := value if { ... }     # extra headers on allow
package tollgate.authz

# decision is what Tollgate turns into the ext_authz CheckResponse.
decision := denied if failure

else := allowed

# ---------------------------------------------------------------------------------------
# Facts about the request, looked up by key (never by scanning lists).

api := data.tollgate.apis[input.route.api]

resource := api.resources[input.route.resource]

public if resource.auth == "none"

# binding is {application, environment} of the token's client ID at its issuer.
binding := data.tollgate.client_ids[input.token.issuer][input.token.client_id]

subscription := data.tollgate.subscriptions[binding.application][input.route.api]

subscribed if subscription.status == "active"

subscribed if {
	subscription.status == "prod_only_blocked"
	binding.environment != "production"
}

token_scopes contains s if some s in input.token.scopes

missing_scopes contains s if {
	some s in resource.scopes
	not s in token_scopes
}

# ---------------------------------------------------------------------------------------
# failure is the first check that fails, as {code, description}; undefined when all pass.

failure := f if {
	not input.route
	f := {
		"code": "no_matching_resource",
		"description": "no API resource matches the request's host, method and path",
	}
} else := f if {
	not resource
	f := {
		"code": "no_matching_resource",
		"description": sprintf("resource %q of API %q is not in the data", [input.route.resource, input.route.api]),
	}
} else := f if {
	not public
	f := token_failure
} else := f if {
	not public
	f := access_failure
} else := f if {
	f := rule_failure
}

token_failure := f if {
	f := {"code": input.token_error.code, "description": input.token_error.description}
} else := f if {
	not input.token
	f := {"code": "missing_token", "description": "this resource requires a bearer access token"}
}

access_failure := f if {
	not binding
	f := {
		"code": "unknown_application",
		"description": sprintf("client ID %q of issuer %q is not bound to any application", [input.token.client_id, input.token.issuer]),
	}
} else := f if {
	not subscription
	f := {
		"code": "not_subscribed",
		"description": sprintf("application %q is not subscribed to API %q", [binding.application, input.route.api]),
	}
} else := f if {
	not subscribed
	f := {
		"code": "not_subscribed",
		"description": sprintf("subscription of application %q to API %q is %s for %s keys", [binding.application, input.route.api, subscription.status, binding.environment]),
	}
} else := f if {
	count(missing_scopes) > 0
	f := {
		"code": "insufficient_scope",
		"description": sprintf("the token lacks scope %s", [concat(" ", sort(missing_scopes))]),
	}
}

# Deny rules added by policy authors in other files of this package.
rule_failure := f if {
	count(data.tollgate.authz.deny) > 0
	f := {"code": "access_denied", "description": concat("; ", sort(data.tollgate.authz.deny))}
}

# ---------------------------------------------------------------------------------------
# Responses.

status := {
	"invalid_request": 400,
	"missing_token": 401,
	"invalid_token": 401,
	"unknown_application": 403,
	"not_subscribed": 403,
	"insufficient_scope": 403,
	"access_denied": 403,
	"no_matching_resource": 404,
}

denied := {
	"allowed": false,
	"http_status": status[failure.code],
	"reason": failure.code,
	"description": failure.description,
	"headers": deny_headers,
}

# Tollgate renders the JSON body {"error": reason, "error_description": description}.
deny_headers["www-authenticate"] := challenge[failure.code]

# RFC 6750 section 3 challenges.
challenge["invalid_request"] := `Bearer error="invalid_request"`

challenge["missing_token"] := `Bearer realm="tollgate"`

challenge["invalid_token"] := sprintf(`Bearer error="invalid_token", error_description="%s"`, [failure.description])

challenge["insufficient_scope"] := sprintf(`Bearer error="insufficient_scope", scope="%s"`, [concat(" ", resource.scopes)])

allowed := {
	"allowed": true,
	"reason": "allowed",
	"headers": object.union(author_headers, identity_headers),
}

# Headers added by policy authors in other files of this package; ours win.
author_headers := h if h := data.tollgate.authz.extra_headers

else := {}

identity_headers["x-tollgate-api"] := input.route.api

identity_headers["x-tollgate-issuer"] := input.token.issuer if not public

identity_headers["x-tollgate-application"] := binding.application if not public

identity_headers["x-tollgate-client-id"] := input.token.client_id if not public

identity_headers["x-tollgate-subject"] := input.token.subject if {
	not public
	input.token.subject != ""
}

identity_headers["x-tollgate-scopes"] := concat(" ", input.token.scopes) if not public
