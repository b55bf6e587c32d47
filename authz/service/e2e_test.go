package service_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"

	"github.com/tollgate/tollgate/authz/token/tokentest"
)

// deny is what a denied CheckResponse must carry.
type deny struct {
	status   int        // HTTP status
	code     codes.Code // gRPC status
	reason   string     // the body's "error"
	www      string     // WWW-Authenticate, exact; "" when there must be none
	describe string     // a piece of error_description
}

var (
	invalidRequest = deny{400, codes.InvalidArgument, "invalid_request", `Bearer error="invalid_request"`, ""}
	missingToken   = deny{401, codes.Unauthenticated, "missing_token", `Bearer realm="tollgate"`, "requires a bearer"}
	noResource     = deny{404, codes.NotFound, "no_matching_resource", "", "no API resource"}
	unknownApp     = deny{403, codes.PermissionDenied, "unknown_application", "", "not bound to any application"}
	notSubscribed  = deny{403, codes.PermissionDenied, "not_subscribed", "", ""}
)

func invalidToken(description string) deny {
	return deny{401, codes.Unauthenticated, "invalid_token",
		`Bearer error="invalid_token", error_description="` + description + `"`, description}
}

func insufficientScope(required, missing string) deny {
	return deny{403, codes.PermissionDenied, "insufficient_scope",
		`Bearer error="insufficient_scope", scope="` + required + `"`, "lacks scope " + missing}
}

// manyHeaders returns n header name, value pairs.
func manyHeaders(n int) []string {
	var hs []string
	for i := range n {
		hs = append(hs, fmt.Sprintf("x-h-%d", i), "v")
	}
	return hs
}

func TestCheckDenies(t *testing.T) {
	h := start(t)
	read := "urn:acme:orders:read"
	web := h.asgardeoToken(t, "web-prod", read, nil)
	now := time.Now()
	asg := func(extra jwt.MapClaims) string { return h.asgardeoToken(t, "web-prod", read, extra) }
	tests := []struct {
		name string
		req  *authv3.CheckRequest
		want deny
	}{
		{"two bearer credentials joined by Envoy", request("GET", "/orders/1", "authorization", "Bearer "+web+", Bearer "+web), invalidRequest},
		{"malformed Authorization", request("GET", "/orders/1", "authorization", "Bearer a b"), invalidRequest},
		{"token in header and query", request("GET", "/orders/1?access_token=x", bearer(web)...), invalidRequest},
		{"token in the query after a semicolon", request("GET", "/orders/1?x=1;access_token="+web), invalidRequest},
		{"token in the query before a semicolon", request("GET", "/orders/1?access_token="+web+";x=1"), invalidRequest},
		{"token in the query that does not decode", request("GET", "/orders/1?access_token=%zz"), invalidRequest},
		{"undecodable query that mentions access_token", request("GET", "/orders/1?x=%zz&access%5Ftoken"), invalidRequest},
		{"token over max_token_bytes", request("GET", "/orders/1", "authorization", "Bearer "+strings.Repeat("a", 16<<10+1)), invalidRequest},
		{"more headers than max_headers, public route", request("GET", "/orders/docs/a", manyHeaders(150)...), invalidRequest},
		{"header block over max_header_bytes, public route", request("GET", "/orders/docs/a", "x-big", strings.Repeat("b", 96<<10)), invalidRequest},
		{"no token", request("GET", "/orders/1"), missingToken},
		{"basic credentials only", request("GET", "/orders/1", "authorization", "Basic dXNlcjpwYXNz"), missingToken},
		{"expired", request("GET", "/orders/1", bearer(asg(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()}))...),
			invalidToken("the access token expired")},
		{"not yet valid", request("GET", "/orders/1", bearer(asg(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()}))...),
			invalidToken("the access token is not valid yet (nbf)")},
		{"missing exp", request("GET", "/orders/1", bearer(asg(jwt.MapClaims{"exp": nil}))...),
			invalidToken("the access token has no expiry (exp)")},
		{"wrong iss", request("GET", "/orders/1", bearer(asg(jwt.MapClaims{"iss": "https://api.asgardeo.io/t/evil/oauth2/token"}))...),
			invalidToken("the token issuer (iss) is not trusted")},
		{"wrong aud", request("GET", "/orders/1", bearer(h.stsToken(t, "web-sts", read, jwt.MapClaims{"aud": "https://other.test"}))...),
			invalidToken("the token audience (aud) is not accepted")},
		{"alg none", request("GET", "/orders/1", bearer(tokentest.Unsigned(tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web-prod", "scope": read})))...),
			invalidToken("the token signing algorithm (alg) is not allowed for its issuer")},
		{"HS256 signed with the RSA public key", request("GET", "/orders/1", bearer(tokentest.HMACWithPublicKey(t, h.asgardeo, tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web-prod", "scope": read})))...),
			invalidToken("the token signing algorithm (alg) is not allowed for its issuer")},
		{"tampered payload", request("GET", "/orders/1", bearer(tokentest.Tamper(web, tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web-prod", "scope": read + " urn:acme:orders:admin"})))...),
			invalidToken("the token signature is invalid")},
		{"garbage token", request("GET", "/orders/1", "authorization", "Bearer garbage"), invalidToken("the access token is not a well-formed JWT")},
		{"ID token", request("GET", "/orders/1", bearer(asg(jwt.MapClaims{"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}))...),
			invalidToken("an ID token (nonce or at_hash) is not an access token")},
		{"foreign typ", request("GET", "/orders/1", bearer(h.asgardeo.Sign(t, tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web-prod", "scope": read}), map[string]any{"typ": "dpop+jwt"}))...),
			invalidToken("the token type (typ) is not an access token type")},
		{"unknown kid", request("GET", "/orders/1", bearer(tokentest.NewRSAKey(t, "stranger").Sign(t, tokentest.Claims(asgardeoIss, jwt.MapClaims{"client_id": "web-prod"}), nil))...),
			invalidToken("the token signing key (kid) is not in its issuer's key set")},
		{"no API matches", request("GET", "/admin", bearer(web)...), noResource},
		{"method not defined", request("DELETE", "/orders/1", bearer(web)...), noResource},
		{"context matches whole segments only", request("GET", "/ordersX/1", bearer(web)...), noResource},
		{"host-bound API on another host", request("GET", "/inventory/sku-1", bearer(web)...), noResource},
		{"dot segments refused", request("GET", "/orders/../admin", bearer(web)...), invalidRequest},
		{"unknown application", request("GET", "/orders/1", bearer(h.asgardeoToken(t, "stranger", read, nil))...), unknownApp},
		{"client ID bound at another issuer only", request("GET", "/orders/1", bearer(h.asgardeoToken(t, "web-sts", read, nil))...), unknownApp},
		{"no subscription", request("GET", "/orders/1", bearer(h.asgardeoToken(t, "lonely", read, nil))...), notSubscribed},
		{"blocked subscription", inventoryRequest(h.asgardeoToken(t, "web-prod", "", nil)), notSubscribed},
		{"production-only blocked, production key", request("GET", "/orders/1", bearer(h.asgardeoToken(t, "rep-prod", read, nil))...), notSubscribed},
		{"insufficient scope", request("POST", "/orders", bearer(web)...),
			insufficientScope("urn:acme:orders:write urn:acme:orders:read", "urn:acme:orders:write")},
		{"literal beats {param}, whatever the order", request("GET", "/orders/pending", bearer(web)...),
			insufficientScope("urn:acme:orders:admin", "urn:acme:orders:admin")},
		{"* takes the rest", request("GET", "/orders/1/items", bearer(web)...),
			insufficientScope("urn:acme:orders:browse", "urn:acme:orders:browse")},
		{"dot segments into another API refused", request("GET", "/orders/../payments/7", bearer(web)...), invalidRequest},
		{"dot segments out of a public prefix refused", request("GET", "/orders/docs/../1"), invalidRequest},
		{"encoded dots out of a public prefix refused", request("GET", "/orders/docs/%2e%2e/1"), invalidRequest},
		{"servlet-style dot segment out of a public prefix refused", request("GET", "/orders/docs/..;/1"), invalidRequest},
		{"empty segment then dot segment out of a public prefix refused", request("GET", "/orders/docs//../1"), invalidRequest},
		{"encoded slash refused by default", request("GET", "/orders/a%2Fb", bearer(web)...), invalidRequest},
		{"context extension selects the API", withAPI(request("GET", "/orders/1", bearer(web)...), "payments"), noResource},
		{"context extension names no API", withAPI(request("GET", "/orders/1", bearer(web)...), "nope"), noResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.check(t, tt.req)
			assertDenied(t, resp, tt.want)
			if tok := tt.req.GetAttributes().GetRequest().GetHttp().GetHeaders()["authorization"]; len(tok) > 20 {
				if strings.Contains(resp.GetDeniedResponse().GetBody(), tok[7:]) {
					t.Error("the deny body echoes the token")
				}
			}
		})
	}
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, web[:40]) {
			t.Errorf("a token reached the log: %s", line)
		}
	}
}

func TestCheckAllows(t *testing.T) {
	h := start(t)
	read := "urn:acme:orders:read"
	web := h.asgardeoToken(t, "web-prod", "openid "+read, nil)
	orders := map[string]string{"x-tollgate-api": "orders", "x-tollgate-application": "shop-web"}
	tests := []struct {
		name   string
		req    *authv3.CheckRequest
		set    map[string]string
		remove []string
		exact  bool // set lists every header the allow sets
	}{
		{
			name: "asgardeo token, identity headers set and client copies removed",
			req: request("GET", "/orders/42", append(bearer(web),
				"x-tollgate-application", "forged", "x-tollgate-admin", "true", "x_tollgate_client_id", "forged", "x-other", "kept")...),
			set: map[string]string{
				"x-tollgate-application": "shop-web", "x-tollgate-client-id": "web-prod",
				"x-tollgate-subject": "alice@acme.test", "x-tollgate-scopes": "openid " + read,
				"x-tollgate-api": "orders", "x-tollgate-issuer": "asgardeo",
			},
			remove: []string{"x-tollgate-admin", "x_tollgate_client_id"},
			exact:  true,
		},
		{
			name: "RFC 9068 STS token",
			req:  request("GET", "/orders/42", bearer(h.stsToken(t, "web-sts", read, nil))...),
			set: map[string]string{
				"x-tollgate-application": "shop-web", "x-tollgate-client-id": "web-sts",
				"x-tollgate-subject": "web-sts", "x-tollgate-scopes": read,
				"x-tollgate-api": "orders", "x-tollgate-issuer": "sts",
			},
		},
		{
			name:   "public resource without a token",
			req:    request("GET", "/orders/docs/guide/intro", "x-tollgate-client-id", "forged"),
			set:    map[string]string{"x-tollgate-api": "orders"},
			remove: []string{"x-tollgate-client-id", "x-tollgate-application", "x-tollgate-subject"},
			exact:  true,
		},
		{
			name:  "public resource ignores a bad token",
			req:   request("GET", "/orders/docs/a", "authorization", "Bearer garbage"),
			set:   map[string]string{"x-tollgate-api": "orders"},
			exact: true,
		},
		{
			name: "resource without scopes needs only a valid token",
			req:  request("GET", "/orders/health", bearer(h.asgardeoToken(t, "web-prod", "", nil))...),
			set:  map[string]string{"x-tollgate-api": "orders", "x-tollgate-scopes": ""},
		},
		{
			name: "production-only blocked lets sandbox keys through",
			req:  request("GET", "/orders/42", bearer(h.asgardeoToken(t, "rep-sandbox", read, nil))...),
			set:  map[string]string{"x-tollgate-application": "reporting", "x-tollgate-client-id": "rep-sandbox"},
		},
		{name: "scheme is case-insensitive", req: request("GET", "/orders/42", "authorization", "bearer "+web), set: orders},
		{name: "percent-encoded unreserved characters", req: request("GET", "/%6Frders/%34%32", bearer(web)...), set: orders},
		{name: "query and fragment ignored", req: request("GET", "/orders/42?expand=items#top", bearer(web)...), set: orders},
		{name: "context extension selects the API", req: withAPI(request("GET", "/payments/7", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:payments:read", nil))...), "payments"),
			set: map[string]string{"x-tollgate-api": "payments"}},
		{name: "headers sent as header_map", req: rawHeaders(request("GET", "/orders/42", bearer(web)...)), set: orders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.check(t, tt.req)
			got := assertAllowed(t, resp, tt.set)
			ok := resp.GetOkResponse()
			if tt.exact && len(got) != len(tt.set) {
				t.Errorf("allow set %v; want exactly %v", got, tt.set)
			}
			removed := ok.GetHeadersToRemove()
			for _, name := range tt.remove {
				if !slices.Contains(removed, name) {
					t.Errorf("headers_to_remove %v lacks %s", removed, name)
				}
			}
			for _, name := range removed {
				if _, set := got[name]; set {
					t.Errorf("%s is both set and removed", name)
				}
			}
			if resp.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue() == "" {
				t.Error("no decision_id in dynamic metadata")
			}
		})
	}
}

func assertDenied(t *testing.T, resp *authv3.CheckResponse, want deny) {
	t.Helper()
	d := resp.GetDeniedResponse()
	if d == nil {
		t.Fatalf("allowed; want %d %s", want.status, want.reason)
	}
	if got := codes.Code(resp.GetStatus().GetCode()); got != want.code {
		t.Errorf("gRPC status %v; want %v", got, want.code)
	}
	if got := int(d.GetStatus().GetCode()); got != want.status {
		t.Errorf("HTTP status %d; want %d (body %s)", got, want.status, d.GetBody())
	}
	headers := map[string]string{}
	for _, hv := range d.GetHeaders() {
		headers[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
	}
	if headers["content-type"] != "application/json" {
		t.Errorf("content-type %q", headers["content-type"])
	}
	if headers["www-authenticate"] != want.www {
		t.Errorf("www-authenticate %q; want %q", headers["www-authenticate"], want.www)
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(d.GetBody()), &body); err != nil {
		t.Fatalf("body %q: %v", d.GetBody(), err)
	}
	if body.Error != want.reason || !strings.Contains(body.Description, want.describe) {
		t.Errorf("body %s; want error %q, description with %q", d.GetBody(), want.reason, want.describe)
	}
	if id := resp.GetDynamicMetadata().GetFields()["decision_id"].GetStringValue(); id == "" || headers["x-tollgate-decision-id"] != id {
		t.Errorf("decision_id %q in dynamic metadata, %q in the deny's headers; want the same, not empty", id, headers["x-tollgate-decision-id"])
	}
}

func inventoryRequest(tok string) *authv3.CheckRequest {
	r := request("GET", "/inventory/sku-1", bearer(tok)...)
	r.Attributes.Request.Http.Host = "Inventory.Acme.Test:8443"
	return r
}

func withAPI(r *authv3.CheckRequest, api string) *authv3.CheckRequest {
	r.Attributes.ContextExtensions = map[string]string{"api": api}
	return r
}

// rawHeaders moves the headers to header_map, as Envoy's encode_raw_headers sends them.
func rawHeaders(r *authv3.CheckRequest) *authv3.CheckRequest {
	h := r.Attributes.Request.Http
	for k, v := range h.Headers {
		if h.HeaderMap == nil {
			h.HeaderMap = &corev3.HeaderMap{}
		}
		h.HeaderMap.Headers = append(h.HeaderMap.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	h.Headers = nil
	return r
}
