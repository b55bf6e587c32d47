package authz

import (
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tollgate/tollgate/authz/route"
	"github.com/tollgate/tollgate/authz/token"
)

func socket(addr string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: addr, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

func richRequest(t *testing.T) *authv3.CheckRequest {
	t.Helper()
	meta, err := structpb.NewStruct(map[string]any{"sub": "alice", "n": 1.5})
	if err != nil {
		t.Fatal(err)
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{
			Address:   socket("10.0.0.7", 51324),
			Principal: "spiffe://cluster.local/ns/shop/sa/web",
			Labels:    map[string]string{"app": "web"},
		},
		Destination: &authv3.AttributeContext_Peer{
			Address: &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/envoy.sock"}}},
			Service: "orders",
		},
		Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)),
			Http: &authv3.AttributeContext_HttpRequest{
				Id: "7", Method: "POST", Path: "/orders?x=1&x=2&y", Host: "api.acme.test", Scheme: "https",
				Headers: map[string]string{":path": "/orders?x=1&x=2&y", "content-type": "application/json"},
				Size:    17, Protocol: "HTTP/2", Body: `{"qty": 2}`, RawBody: []byte{0, 1, 2},
				Fragment: "f", Query: "x=1",
			},
		},
		ContextExtensions: map[string]string{"api": "orders"},
		MetadataContext:   &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{"envoy.filters.http.jwt_authn": meta}},
		TlsSession:        &authv3.AttributeContext_TLSSession{Sni: "api.acme.test"},
	}}
}

// The attributes must read exactly as protojson renders them, as OPA-Envoy's do.
func TestAttributesMatchProtojson(t *testing.T) {
	for name, req := range map[string]*authv3.CheckRequest{
		"rich":    richRequest(t),
		"minimal": {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/"}}}},
		"empty":   {Attributes: &authv3.AttributeContext{}},
		"no time fraction": {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}}},
		"nanosecond time": {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 1, time.UTC))}}},
		"millisecond time": {Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Time: timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 5e6, time.UTC))}}},
		"udp socket": {Attributes: &authv3.AttributeContext{Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{
			Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Protocol: corev3.SocketAddress_UDP, Address: "::1"}}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := protojson.Marshal(req.GetAttributes())
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := util.UnmarshalJSON(raw, &v); err != nil {
				t.Fatal(err)
			}
			want := ast.MustInterfaceToValue(v)
			got := attributesTerm(newRequest(req)).Value
			if got.Compare(want) != 0 {
				t.Errorf("attributes\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestInputHelpers(t *testing.T) {
	req := richRequest(t)
	m := route.Match{API: "orders", Resource: "POST /orders", Path: "/orders", Params: map[string]string{"id": "1"}}
	terr := token.ErrExpired
	in := input(newRequest(req), m, true, nil, terr)
	want := map[string]string{
		"parsed_path":        `["orders"]`,
		"parsed_query":       `{"x": ["1", "2"], "y": [""]}`,
		"parsed_body":        `{"qty": 2}`,
		"truncated_body":     `false`,
		"version":            `{"encoding": "protojson", "ext_authz": "v3"}`,
		"route":              `{"api": "orders", "resource": "POST /orders", "path": "/orders", "params": {"id": "1"}}`,
		"token_error.reason": `"token_expired"`,
		"token_error.code":   `"invalid_token"`,
		"peer":               `{"principal": "spiffe://cluster.local/ns/shop/sa/web", "trust_domain": "cluster.local", "namespace": "shop", "service_account": "web"}`,
	}
	for path, w := range want {
		ref := ast.MustParseRef("input." + path)
		got, err := in.Find(ref[1:])
		if err != nil {
			t.Errorf("input.%s missing", path)
			continue
		}
		if got.Compare(ast.MustParseTerm(w).Value) != 0 {
			t.Errorf("input.%s = %v; want %s", path, got, w)
		}
	}
	if _, err := in.Find(ast.MustParseRef("input.token")[1:]); err == nil {
		t.Error("input.token present without a verified token")
	}
	noRoute := input(newRequest(req), route.Match{}, false, nil, nil)
	if _, err := noRoute.Find(ast.MustParseRef("input.route")[1:]); err == nil {
		t.Error("input.route present when nothing matched")
	}
	req.Attributes.Source.Principal = ""
	if _, err := input(newRequest(req), m, true, nil, nil).Find(ast.MustParseRef("input.peer")[1:]); err == nil {
		t.Error("input.peer present without a principal")
	}
}

func TestParsePathLikeOPAEnvoy(t *testing.T) {
	tests := []struct{ path, segs, query string }{
		{"/", `[""]`, `{}`},
		{"/a/b%2Fc/", `["a", "b", "c", ""]`, `{}`},
		{"//a", `[""]`, `{}`}, // url.Parse reads "a" as a host, as in OPA-Envoy
		{"/a?q=%20x&q=y", `["a"]`, `{"q": [" x", "y"]}`},
		{"/%zz", `[]`, `{}`},
	}
	for _, tt := range tests {
		r := newRequest(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Path: tt.path}}}})
		segs, query := parsePath(r.parsed())
		if segs.Value.Compare(ast.MustParseTerm(tt.segs).Value) != 0 || query.Value.Compare(ast.MustParseTerm(tt.query).Value) != 0 {
			t.Errorf("parsePath(%q) = %v, %v; want %s, %s", tt.path, segs, query, tt.segs, tt.query)
		}
	}
}

func TestHeadersFromHeaderMap(t *testing.T) {
	h := &authv3.AttributeContext_HttpRequest{HeaderMap: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: "Authorization", RawValue: []byte("Bearer a")},
		{Key: "authorization", RawValue: []byte("Bearer b")},
		{Key: "x-one", Value: "1"},
	}}}
	got, size := headersOf(h)
	if got["authorization"] != "Bearer a,Bearer b" || got["x-one"] != "1" || len(got) != 2 {
		t.Errorf("headersOf = %v", got)
	}
	// The size is of the block as sent: three fields, names lower-cased.
	if want := (headerSize{count: 3, bytes: 13 + 8 + 13 + 8 + 5 + 1}); size != want {
		t.Errorf("headersOf size = %+v; want %+v", size, want)
	}
}

func TestHeadersSize(t *testing.T) {
	h := &authv3.AttributeContext_HttpRequest{Headers: map[string]string{":path": "/a", "x": "yz"}}
	if _, size := headersOf(h); size != (headerSize{count: 2, bytes: 5 + 2 + 1 + 2}) {
		t.Errorf("headersOf size = %+v", size)
	}
}

func TestQueryToken(t *testing.T) {
	tests := []struct {
		path string
		want bool
		err  *token.Error
	}{
		{"/a?access_token=x", true, nil},
		{"/a?b=1&access_token=", true, nil},
		{"/a?b=1&access_token&c=2", true, nil},
		{"/a?access%5Ftoken=secret", true, nil},
		{"/a?access_token=abc;x=1", true, nil},
		{"/a?x=1;access_token=abc", true, nil},
		{"/a?access_token=%zz", true, nil},
		{"/a?ACCESS_TOKEN=x", true, nil},
		{"/a?access_token=x#frag", true, nil},
		{"/a?%zz=1&access_token=x", true, nil},
		{"/a?my_access_token=x", false, nil},
		{"/a", false, nil},
		{"/a?", false, nil},
		{"/a?x=access_token", false, nil},
		{"/access_token?x=1", false, nil},
		{"/a?access_token%3Dx=1", false, nil},
		{"/a?x=1#access_token=y", false, nil},
		{"/a?x=%zz", false, nil},
		{"/a?x=%zz&y=access_token", false, token.ErrMalformedQuery},
		{"/a?x=access%5ftoken%zz", false, token.ErrMalformedQuery},
		{"/a?%zzaccess_token=1", false, token.ErrMalformedQuery},
	}
	for _, tt := range tests {
		r := newRequest(&authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Path: tt.path}}}})
		if got, err := r.queryToken(); got != tt.want || err != tt.err {
			t.Errorf("queryToken(%q) = %v, %v; want %v, %v", tt.path, got, err, tt.want, tt.err)
		}
	}
}
