package authz

import (
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

// envoyRequest is a CheckRequest as Envoy sends one for a browser's API call: peers,
// time, and 15 headers, a bearer token among them.
func envoyRequest() *authv3.CheckRequest {
	const path = "/orders/42?expand=items&currency=EUR"
	headers := map[string]string{
		":authority":                     "api.acme.test",
		":method":                        "GET",
		":path":                          path,
		":scheme":                        "https",
		"accept":                         "application/json",
		"accept-encoding":                "gzip, deflate, br",
		"accept-language":                "en-GB,en;q=0.9",
		"authorization":                  "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImRlbW8tMSJ9.eyJjbGllbnRfaWQiOiJzaG9wLXdlYi1wcm9kIn0.c2lnbmF0dXJl",
		"user-agent":                     "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"x-forwarded-for":                "203.0.113.7",
		"x-forwarded-proto":              "https",
		"x-request-id":                   "0f6b3c52-7f0e-4a7e-9a53-3c1d2a9b8e11",
		"x-envoy-expected-rq-timeout-ms": "15000",
		"traceparent":                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"cookie":                         "session=5b0d2c1e; theme=dark",
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: socket("203.0.113.7", 51324)},
		Destination: &authv3.AttributeContext_Peer{Address: socket("10.0.0.12", 8443)},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)),
			Http: &authv3.AttributeContext_HttpRequest{
				Id: "12345678901234567890", Method: "GET", Path: path, Host: "api.acme.test",
				Scheme: "https", Protocol: "HTTP/2", Headers: headers,
			},
		},
	}}
}

// benchIdentity is a verified token as the token package builds one from the quickstart
// issuer's claims.
func benchIdentity(tb testing.TB) *token.Identity {
	tb.Helper()
	exp := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	claims := map[string]any{
		"iss":       "https://demo-idp.tollgate.invalid/oauth2/token",
		"sub":       "shop-web-prod",
		"aud":       "https://api.acme.test",
		"client_id": "shop-web-prod",
		"scope":     "urn:acme:orders:read urn:acme:orders:write",
		"jti":       "8d4f1c2a-5b3e-4f60-9a7d-2e1c0b9f8a76",
		"iat":       float64(exp.Add(-time.Hour).Unix()),
		"exp":       float64(exp.Unix()),
	}
	id := &token.Identity{Issuer: "demo", ClientID: "shop-web-prod", Subject: "shop-web-prod",
		Scopes: []string{"urn:acme:orders:read", "urn:acme:orders:write"}, Claims: claims, Expiry: exp}
	value, err := ast.InterfaceToValue(map[string]any{
		"issuer": id.Issuer, "client_id": id.ClientID, "subject": id.Subject, "scopes": id.Scopes, "claims": claims,
	})
	if err != nil {
		tb.Fatal(err)
	}
	id.Value = value
	return id
}

// BenchmarkInput measures what a check does before the policy runs, once the token is
// verified: reading the CheckRequest and building the policy's input document.
func BenchmarkInput(b *testing.B) {
	req := envoyRequest()
	id := benchIdentity(b)
	m := route.Match{API: "orders", Resource: "GET /orders/{id}", Path: "/orders/42", Params: map[string]string{"id": "42"}}
	b.ReportAllocs()
	for b.Loop() {
		if in := input(newRequest(req), m, true, id, nil); in == nil {
			b.Fatal("no input")
		}
	}
}

// BenchmarkResponse measures turning a decision into Envoy's CheckResponse: an allow
// with the six identity headers the shipped policy sets, and its insufficient_scope deny.
func BenchmarkResponse(b *testing.B) {
	reqHeaders := envoyRequest().GetAttributes().GetRequest().GetHttp().GetHeaders()
	cases := []struct {
		name string
		d    policy.Decision
	}{
		{"allow", policy.Decision{Allowed: true, Reason: "allowed", Headers: map[string]string{
			"x-tollgate-api":         "orders",
			"x-tollgate-application": "shop-web",
			"x-tollgate-client-id":   "shop-web-prod",
			"x-tollgate-issuer":      "demo",
			"x-tollgate-scopes":      "urn:acme:orders:read urn:acme:orders:write",
			"x-tollgate-subject":     "shop-web-prod",
		}}},
		{"deny", policy.Decision{HTTPStatus: 403, Reason: "insufficient_scope",
			Description: "the token lacks scope urn:acme:orders:write",
			Headers:     map[string]string{"www-authenticate": `Bearer error="insufficient_scope", scope="urn:acme:orders:write"`},
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := response(c.d, "5f0c8a3e9b7d4c21a6e2f1b0d9c8e7a6", reqHeaders); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
