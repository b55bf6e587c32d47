package service_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tollgate/tollgate/authz/config"
)

// header is one request header line; a name may repeat.
type header struct{ name, value string }

// proxy builds the CheckRequest one kind of proxy sends for a request that a client
// sent with these headers.
type proxy func(method, pathQuery string, client []header) *authv3.CheckRequest

// envoyFront is what Envoy 1.3x's ext_authz filter sends from a front proxy (HTTP/2
// over TLS downstream, use_remote_address: true, a route with context_extensions,
// metadata_context_namespaces naming jwt_authn), after Envoy's docs and
// check_request_utils: socket addresses of both ends, the request's time, the stream
// id, every header lower-case with the pseudo-headers, :path with its query, the
// headers the connection manager adds, and repeated headers joined with ",".
func envoyFront(method, pathQuery string, client []header) *authv3.CheckRequest {
	hs := append([]header{
		{":authority", "api.acme.test"}, {":method", method}, {":path", pathQuery}, {":scheme", "https"},
		{"user-agent", "curl/8.5.0"}, {"accept", "*/*"},
	}, client...)
	hs = append(hs, header{"x-forwarded-for", "203.0.113.9"}, header{"x-forwarded-proto", "https"},
		header{"x-request-id", "4c1b4a8e-3f0a-4c61-9a55-0e1b8f0b6a2d"}, header{"x-envoy-external-address", "203.0.113.9"})
	meta, _ := structpb.NewStruct(map[string]any{"verified_jwt": map[string]any{"sub": "someone"}})
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      &authv3.AttributeContext_Peer{Address: socketAddress("203.0.113.9", 52144)},
		Destination: &authv3.AttributeContext_Peer{Address: socketAddress("10.0.0.2", 10000)},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Now()),
			Http: &authv3.AttributeContext_HttpRequest{
				Id: "11739245521374870813", Method: method, Headers: joined(hs), Path: pathQuery,
				Host: "api.acme.test", Scheme: "https", Protocol: "HTTP/2",
			},
		},
		ContextExtensions: map[string]string{"api": apiOf(pathQuery)},
		MetadataContext:   &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"envoy.filters.http.jwt_authn": meta}},
	}}
}

// envoyRaw is envoyFront with encode_raw_headers: true, which sends header_map (one
// entry per header line, values as bytes) instead of headers.
func envoyRaw(method, pathQuery string, client []header) *authv3.CheckRequest {
	req := envoyFront(method, pathQuery, client)
	h := req.Attributes.Request.Http
	h.Headers = nil
	h.HeaderMap = &corev3.HeaderMap{}
	for _, hv := range append([]header{{":authority", "api.acme.test"}, {":method", method}, {":path", pathQuery}}, client...) {
		h.HeaderMap.Headers = append(h.HeaderMap.Headers, &corev3.HeaderValue{Key: strings.ToLower(hv.name), RawValue: []byte(hv.value)})
	}
	return req
}

// istioSidecar is what the inbound sidecar of the orders workload sends for a call
// from another workload in the mesh, through an AuthorizationPolicy with action CUSTOM:
// peers' SPIFFE principals, HTTP/1.1 to the app, the x-envoy-*, B3 and XFCC headers a
// sidecar adds, and no context_extensions (Istio sets none).
func istioSidecar(caller string) proxy {
	return func(method, pathQuery string, client []header) *authv3.CheckRequest {
		self := "spiffe://cluster.local/ns/shop/sa/orders"
		hs := append([]header{
			{":authority", "orders.shop.svc.cluster.local:8080"}, {":method", method}, {":path", pathQuery}, {":scheme", "http"},
			{"user-agent", "Go-http-client/1.1"}, {"accept-encoding", "gzip"},
		}, client...)
		hs = append(hs,
			header{"x-forwarded-proto", "http"}, header{"x-request-id", "0b9c7f7e-2b43-9d1d-a3c5-5b2f4e0e1a77"},
			header{"x-envoy-attempt-count", "1"}, header{"x-envoy-peer-metadata-id", "sidecar~10.244.1.17~web-7d9c.shop~shop.svc.cluster.local"},
			header{"x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"}, header{"x-b3-spanid", "e457b5a2e4d86bd1"}, header{"x-b3-sampled", "0"},
		)
		if caller != "" {
			hs = append(hs, header{"x-forwarded-client-cert", "By=" + self + ";Hash=5bb9b5a1a3c0f2a2c1e6a6f50b9e3c6d9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c;Subject=\"\";URI=" + caller})
		}
		return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Source:      &authv3.AttributeContext_Peer{Address: socketAddress("10.244.1.17", 40522), Principal: caller},
			Destination: &authv3.AttributeContext_Peer{Address: socketAddress("10.244.2.9", 8080), Principal: self},
			Request: &authv3.AttributeContext_Request{
				Time: timestamppb.New(time.Now()),
				Http: &authv3.AttributeContext_HttpRequest{
					Id: "9126357421940277913", Method: method, Headers: joined(hs), Path: pathQuery,
					Host: "orders.shop.svc.cluster.local:8080", Scheme: "http", Protocol: "HTTP/1.1",
				},
			},
		}}
	}
}

func socketAddress(ip string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

// joined is Envoy's headers map: names lower-cased, repeated headers joined with ",".
func joined(hs []header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		name := strings.ToLower(h.name)
		if v, ok := m[name]; ok {
			m[name] = v + "," + h.value
			continue
		}
		m[name] = h.value
	}
	return m
}

// apiOf is the API a sample envoy.yaml route names in context_extensions.
func apiOf(pathQuery string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(pathQuery, "/"), "/")
	seg, _, _ = strings.Cut(seg, "?")
	return seg
}

// startWithMeshPolicy runs the shipped policy together with the example policy that
// lets only workloads of namespace shop call the payments API.
func startWithMeshPolicy(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	for _, src := range []string{"../../policies/authz.rego", "../../examples/policies/mesh_identity.rego"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, filepath.Base(src)), string(b))
	}
	return startWith(t, func(c *config.Config) { c.Policies = dir })
}

// The requests Envoy and an Istio sidecar really send get the same decisions: an allow
// with identity headers, and every deny code with its status, body and
// WWW-Authenticate.
func TestProxyShapedRequests(t *testing.T) {
	h := startWithMeshPolicy(t)
	read := "urn:acme:orders:read"
	web := h.asgardeoToken(t, "web-prod", read, nil)
	expired := h.asgardeoToken(t, "web-prod", read, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})
	auth := func(tok string) header { return header{"Authorization", "Bearer " + tok} }
	payments := auth(h.asgardeoToken(t, "web-prod", "urn:acme:payments:read", nil))
	mesh := map[string]proxy{
		"envoy front proxy":         envoyFront,
		"envoy encode_raw_headers":  envoyRaw,
		"istio sidecar, shop ns":    istioSidecar("spiffe://cluster.local/ns/shop/sa/web"),
		"istio sidecar, no mTLS":    istioSidecar(""),
		"istio sidecar, foreign ns": istioSidecar("spiffe://cluster.local/ns/batch/sa/job"),
	}
	type call struct {
		method, path string
		headers      []header
	}
	tests := []struct {
		name  string
		call  call
		allow map[string]string // identity headers of an allow; nil for a deny
		deny  deny
	}{
		{"allow", call{"GET", "/orders/42?expand=items", []header{auth(web), {"X-Tollgate-Application", "forged"}}},
			map[string]string{"x-tollgate-api": "orders", "x-tollgate-application": "shop-web", "x-tollgate-client-id": "web-prod"}, deny{}},
		{"public resource", call{"GET", "/orders/docs/intro", nil}, map[string]string{"x-tollgate-api": "orders"}, deny{}},
		{"two credentials joined with ','", call{"GET", "/orders/42", []header{auth(web), auth(web)}}, nil, invalidRequest},
		{"missing token", call{"GET", "/orders/42", nil}, nil, missingToken},
		{"invalid token", call{"GET", "/orders/42", []header{auth(expired)}}, nil, invalidToken("the access token expired")},
		{"no matching resource", call{"DELETE", "/orders/42", []header{auth(web)}}, nil, noResource},
		{"unknown application", call{"GET", "/orders/42", []header{auth(h.asgardeoToken(t, "stranger", read, nil))}}, nil, unknownApp},
		{"not subscribed", call{"GET", "/orders/42", []header{auth(h.asgardeoToken(t, "lonely", read, nil))}}, nil, notSubscribed},
		{"insufficient scope", call{"GET", "/orders/42", []header{auth(h.asgardeoToken(t, "web-prod", "openid", nil))}}, nil,
			insufficientScope(read, read)},
	}
	for proxyName, build := range mesh {
		for _, tt := range tests {
			t.Run(proxyName+"/"+tt.name, func(t *testing.T) {
				resp := h.check(t, build(tt.call.method, tt.call.path, tt.call.headers))
				if tt.allow == nil {
					assertDenied(t, resp, tt.deny)
					return
				}
				assertAllowed(t, resp, tt.allow)
			})
		}
	}

	// The example policy reads the caller's SPIFFE identity from input.peer.
	meshTests := []struct {
		proxy string
		want  *deny
	}{
		{"istio sidecar, shop ns", nil},
		{"istio sidecar, foreign ns", &deny{403, codes.PermissionDenied, "access_denied", "",
			"workload spiffe://cluster.local/ns/batch/sa/job may not call API payments"}},
		{"istio sidecar, no mTLS", &deny{403, codes.PermissionDenied, "access_denied", "", "only from workloads of the mesh"}},
		{"envoy front proxy", &deny{403, codes.PermissionDenied, "access_denied", "", "only from workloads of the mesh"}},
	}
	for _, tt := range meshTests {
		t.Run("mesh identity/"+tt.proxy, func(t *testing.T) {
			resp := h.check(t, mesh[tt.proxy]("GET", "/payments/7", []header{payments}))
			if tt.want == nil {
				assertAllowed(t, resp, map[string]string{"x-tollgate-api": "payments"})
				return
			}
			assertDenied(t, resp, *tt.want)
		})
	}
}

// assertAllowed checks an allow that sets these identity headers, overwriting any
// client's copies, and removes each identity header it does not set. It returns the
// headers the allow sets.
func assertAllowed(t *testing.T, resp *authv3.CheckResponse, set map[string]string) map[string]string {
	t.Helper()
	ok := resp.GetOkResponse()
	if codes.Code(resp.GetStatus().GetCode()) != codes.OK || ok == nil {
		t.Fatalf("denied: %d %s", resp.GetDeniedResponse().GetStatus().GetCode(), resp.GetDeniedResponse().GetBody())
	}
	got := map[string]string{}
	for _, hv := range ok.GetHeaders() {
		if hv.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			t.Errorf("header %s: append action %v", hv.GetHeader().GetKey(), hv.GetAppendAction())
		}
		got[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
	}
	for k, v := range set {
		if got[k] != v {
			t.Errorf("header %s = %q; want %q", k, got[k], v)
		}
	}
	removed := ok.GetHeadersToRemove()
	for _, name := range []string{"x-tollgate-api", "x-tollgate-application", "x-tollgate-client-id",
		"x-tollgate-issuer", "x-tollgate-scopes", "x-tollgate-subject"} {
		_, overwritten := got[name]
		if overwritten == slices.Contains(removed, name) {
			t.Errorf("%s: set %v, removed %v; a backend must get Tollgate's value or none", name, overwritten, !overwritten)
		}
	}
	return got
}
