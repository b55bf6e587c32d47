package route

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func res(id, method, path string) Resource {
	return Resource{ID: id, Method: method, Path: path}
}

func get(id, path string) Resource { return res(id, "GET", path) }

// testAPIs is a catalogue with one resource ID per resource across all APIs.
func testAPIs() []API {
	return []API{
		{Name: "orders", Context: "/orders", Resources: []Resource{
			get("orders-list", "/orders"),
			res("orders-create", "POST", "/orders"),
			get("orders-get", "/orders/{id}"),
			{ID: "orders-pending", Method: "GET", Path: "/orders/pending", Public: true},
			get("orders-rest", "/orders/*"),
			get("orders-items", "/orders/{id}/items"),
			get("orders-item", "/orders/{id}/items/{item}"),
		}},
		{Name: "orders-v2", Context: "/orders/v2", Resources: []Resource{
			get("v2-get", "/orders/v2/{id}"),
		}},
		{Name: "users", Context: "/users", Resources: []Resource{
			get("users-list", "/users"),
			get("users-get", "/users/{id}"),
			get("users-get-slash", "/users/{id}/"),
		}},
		{Name: "shapes", Context: "/shapes", Resources: []Resource{
			get("shapes-param-lit", "/shapes/{a}/b"),
			get("shapes-lit-param", "/shapes/a/{b}"),
			get("shapes-params", "/shapes/{a}/{b}"),
			get("shapes-rest", "/shapes/*"),
		}},
		{Name: "payments", Context: "/payments", Resources: []Resource{
			get("pay-get", "/payments/{id}"),
		}},
		{Name: "payments-eu", Context: "/payments", Hosts: []string{"eu.example.com"}, Resources: []Resource{
			get("pay-eu-get", "/payments/{id}"),
		}},
		{Name: "site", Context: "/", Hosts: []string{"www.example.com"}, Resources: []Resource{
			get("home", "/"),
			get("files", "/files/*"),
		}},
	}
}

// reversed returns the APIs, and each API's resources, in reverse order.
func reversed(apis []API) []API {
	out := slices.Clone(apis)
	slices.Reverse(out)
	for i := range out {
		out[i].Resources = slices.Clone(out[i].Resources)
		slices.Reverse(out[i].Resources)
	}
	return out
}

func TestCompileErrors(t *testing.T) {
	one := func(ctx string, rs ...Resource) []API {
		return []API{{Name: "a", Context: ctx, Resources: rs}}
	}
	tooMany := "/a"
	for i := range maxParams + 1 {
		tooMany += "/{p" + string(rune('a'+i)) + "}"
	}
	tests := []struct {
		name string
		apis []API
		want []string
	}{
		{"template not absolute", one("/a", get("ok", "/a"), get("r", "a/b")),
			[]string{`apis[0] "a": resources[1] "r": template "a/b" must start with /`}},
		{"empty template", one("/a", get("r", "")),
			[]string{`apis[0] "a": resources[0] "r": template "" must start with /`}},
		{"query in template", one("/a", get("r", "/a?x=1")),
			[]string{`apis[0] "a": resources[0] "r": `, "query or fragment"}},
		{"fragment in template", one("/a", get("r", "/a#f")),
			[]string{`apis[0] "a": resources[0] "r": `, "query or fragment"}},
		{"wildcard not last", one("/a", get("r", "/a/*/b")),
			[]string{`apis[0] "a": resources[0] "r": `, "only as the last segment"}},
		{"bad param name", one("/a", get("r", "/a/{1x}")),
			[]string{`apis[0] "a": resources[0] "r": `, `parameter "{1x}"`}},
		{"empty param name", one("/a", get("r", "/a/{}")),
			[]string{`apis[0] "a": resources[0] "r": `, `parameter "{}"`}},
		{"param in part of a segment", one("/a", get("r", "/a/x{id}")),
			[]string{`apis[0] "a": resources[0] "r": `, "must fill a whole segment"}},
		{"wildcard in part of a segment", one("/a", get("r", "/a/x*")),
			[]string{`apis[0] "a": resources[0] "r": `, "must fill a whole segment"}},
		{"empty segment", one("/a", get("r", "/a//b")),
			[]string{`apis[0] "a": resources[0] "r": `, "empty segment"}},
		{"dot segment", one("/a", get("r", "/a/./b")),
			[]string{`apis[0] "a": resources[0] "r": `, `dot segment "."`}},
		{"dot-dot segment", one("/a", get("r", "/a/../b")),
			[]string{`apis[0] "a": resources[0] "r": `, `dot segment ".."`}},
		{"literal not normalised", one("/a", get("r", "/a/%7euser")),
			[]string{`apis[0] "a": resources[0] "r": `, "not in normal form"}},
		{"lower-case escape", one("/a", get("r", "/a/x%2fy")),
			[]string{`apis[0] "a": resources[0] "r": `, "not in normal form"}},
		{"invalid escape", one("/a", get("r", "/a/%zz")),
			[]string{`apis[0] "a": resources[0] "r": `, "not in normal form"}},
		{"param twice", one("/a", get("r", "/a/{x}/{x}")),
			[]string{`apis[0] "a": resources[0] "r": `, "parameter {x} appears twice"}},
		{"too many params", one("/a", get("r", tooMany)),
			[]string{`apis[0] "a": resources[0] "r": `, "at most 16"}},

		{"outside context", one("/a", get("r", "/b/1")),
			[]string{`apis[0] "a": resources[0] "r": path is not under the API's context`}},
		{"context as part of a segment", one("/a", get("r", "/ab")),
			[]string{`apis[0] "a": resources[0] "r": path is not under the API's context`}},
		{"root under a context", one("/a", get("r", "/")),
			[]string{`apis[0] "a": resources[0] "r": path is not under the API's context`}},
		{"param where the context is", one("/a", get("r", "/{x}/b")),
			[]string{`apis[0] "a": resources[0] "r": path is not under the API's context`}},

		{"duplicate param shape", one("/a", get("r1", "/a/{x}"), get("r2", "/a/{y}")),
			[]string{`apis[0] "a": resources[1] "r2": duplicates resource "r1"`}},
		{"duplicate literal", one("/a", get("r1", "/a/b"), get("r2", "/a/c"), get("r3", "/a/b")),
			[]string{`apis[0] "a": resources[2] "r3": duplicates resource "r1"`}},
		{"duplicate wildcard", one("/a", get("r1", "/a/{x}/*"), get("r2", "/a/{y}/*")),
			[]string{`apis[0] "a": resources[1] "r2": duplicates resource "r1"`}},
		{"duplicate root", one("/", get("r1", "/"), get("r2", "/")),
			[]string{`apis[0] "a": resources[1] "r2": duplicates resource "r1"`}},
		{"every bad resource reported", one("/a", get("r1", "/b"), get("r2", "/a"), get("r3", "/a//")),
			[]string{`apis[0] "a": resources[0] "r1": path is not under`, `apis[0] "a": resources[2] "r3": `}},

		{"context not absolute", one("a"),
			[]string{`apis[0] "a": context: template "a" must start with /`}},
		{"context with trailing slash", one("/a/"),
			[]string{`apis[0] "a": context "/a/" must be a literal path without a trailing slash`}},
		{"context with param", one("/{x}"),
			[]string{`apis[0] "a": context "/{x}" must be a literal path`}},
		{"context with wildcard", one("/a/*"),
			[]string{`apis[0] "a": context "/a/*" must be a literal path`}},
		{"context not normalised", one("/a/../b"),
			[]string{`apis[0] "a": context: `, "dot segment"}},

		{"duplicate API name", []API{
			{Name: "x", Context: "/a"},
			{Name: "x", Context: "/b"},
		}, []string{`apis[1] "x": another API has this name`}},
		{"same context without hosts", []API{
			{Name: "x", Context: "/a"},
			{Name: "y", Context: "/b"},
			{Name: "z", Context: "/a"},
		}, []string{`apis[2] "z": context "/a" and hosts overlap with apis[0] "x"`}},
		{"same root context without hosts", []API{
			{Name: "x", Context: "/"},
			{Name: "y", Context: "/"},
		}, []string{`apis[1] "y": context "/" and hosts overlap with apis[0] "x"`}},
		{"same context with a shared host", []API{
			{Name: "x", Context: "/a", Hosts: []string{"a.example.com", "b.example.com"}},
			{Name: "y", Context: "/a", Hosts: []string{"c.example.com", "b.example.com"}},
		}, []string{`apis[1] "y": context "/a" and hosts overlap with apis[0] "x"`}},
		{"error in a later API", []API{
			{Name: "x", Context: "/a", Resources: []Resource{get("r1", "/a")}},
			{Name: "y", Context: "/b", Resources: []Resource{get("ok", "/b"), get("r2", "/b/{")}},
		}, []string{`apis[1] "y": resources[1] "r2": `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.apis)
			if err == nil {
				t.Fatalf("Compile succeeded; want an error containing %q", tt.want)
			}
			if r != nil {
				t.Errorf("Compile returned a router with error %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileValid(t *testing.T) {
	tests := []struct {
		name string
		apis []API
	}{
		{"catalogue", testAPIs()},
		{"catalogue reversed", reversed(testAPIs())},
		{"empty", nil},
		{"same shape, other method", []API{{Name: "a", Context: "/a", Resources: []Resource{
			get("r1", "/a/{x}"), res("r2", "PUT", "/a/{y}"),
		}}}},
		{"with and without trailing slash", []API{{Name: "a", Context: "/a", Resources: []Resource{
			get("r1", "/a"), get("r2", "/a/"), get("r3", "/a/{x}"), get("r4", "/a/{x}/"),
		}}}},
		{"param, literal and wildcard siblings", []API{{Name: "a", Context: "/a", Resources: []Resource{
			get("r1", "/a/{x}"), get("r2", "/a/b"), get("r3", "/a/*"), get("r4", "/a/{x}/*"),
		}}}},
		{"encoded literal in normal form", []API{{Name: "a", Context: "/a", Resources: []Resource{
			get("r1", "/a/x%2Fy"), get("r2", "/a/~user"),
		}}}},
		{"same context, disjoint hosts", []API{
			{Name: "x", Context: "/a", Hosts: []string{"a.example.com"}},
			{Name: "y", Context: "/a", Hosts: []string{"b.example.com"}},
		}},
		{"same context, one host-less", []API{
			{Name: "x", Context: "/a"},
			{Name: "y", Context: "/a", Hosts: []string{"b.example.com"}},
		}},
		{"nested contexts", []API{
			{Name: "x", Context: "/"},
			{Name: "y", Context: "/a"},
			{Name: "z", Context: "/a/b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.apis); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type matchCase struct {
	name   string
	api    string // context_extensions API name
	host   string
	method string
	path   string
	// encodedSlashes allows %2F (limits.allow_encoded_slashes).
	encodedSlashes bool
	want           Match // zero: no match
}

func params(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var matchCases = []matchCase{
	// Precedence: literal over {param} over *, left to right.
	{name: "list", method: "GET", path: "/orders",
		want: Match{API: "orders", Resource: "orders-list", Path: "/orders"}},
	{name: "literal over param", method: "GET", path: "/orders/pending",
		want: Match{API: "orders", Resource: "orders-pending", Public: true, Path: "/orders/pending"}},
	{name: "param", method: "GET", path: "/orders/123",
		want: Match{API: "orders", Resource: "orders-get", Path: "/orders/123", Params: params("id", "123")}},
	{name: "param then literal", method: "GET", path: "/orders/123/items",
		want: Match{API: "orders", Resource: "orders-items", Path: "/orders/123/items", Params: params("id", "123")}},
	{name: "backtrack from literal to param", method: "GET", path: "/orders/pending/items",
		want: Match{API: "orders", Resource: "orders-items", Path: "/orders/pending/items", Params: params("id", "pending")}},
	{name: "two params", method: "GET", path: "/orders/123/items/9",
		want: Match{API: "orders", Resource: "orders-item", Path: "/orders/123/items/9", Params: params("id", "123", "item", "9")}},
	{name: "wildcard rest", method: "GET", path: "/orders/123/other",
		want: Match{API: "orders", Resource: "orders-rest", Path: "/orders/123/other", Params: params("*", "123/other")}},
	{name: "wildcard after a deep miss", method: "GET", path: "/orders/123/items/9/x",
		want: Match{API: "orders", Resource: "orders-rest", Path: "/orders/123/items/9/x", Params: params("*", "123/items/9/x")}},
	{name: "wildcard keeps trailing slash", method: "GET", path: "/orders/123/other/",
		want: Match{API: "orders", Resource: "orders-rest", Path: "/orders/123/other/", Params: params("*", "123/other/")}},
	{name: "literal beats param at first difference", method: "GET", path: "/shapes/a/b",
		want: Match{API: "shapes", Resource: "shapes-lit-param", Path: "/shapes/a/b", Params: params("b", "b")}},
	{name: "param then literal beats two params", method: "GET", path: "/shapes/x/b",
		want: Match{API: "shapes", Resource: "shapes-param-lit", Path: "/shapes/x/b", Params: params("a", "x")}},
	{name: "literal then param", method: "GET", path: "/shapes/a/y",
		want: Match{API: "shapes", Resource: "shapes-lit-param", Path: "/shapes/a/y", Params: params("b", "y")}},
	{name: "two params beat wildcard", method: "GET", path: "/shapes/x/y",
		want: Match{API: "shapes", Resource: "shapes-params", Path: "/shapes/x/y", Params: params("a", "x", "b", "y")}},
	{name: "wildcard one segment", method: "GET", path: "/shapes/x",
		want: Match{API: "shapes", Resource: "shapes-rest", Path: "/shapes/x", Params: params("*", "x")}},
	{name: "wildcard when longer", method: "GET", path: "/shapes/a/b/c",
		want: Match{API: "shapes", Resource: "shapes-rest", Path: "/shapes/a/b/c", Params: params("*", "a/b/c")}},
	{name: "wildcard needs a segment", method: "GET", path: "/shapes"},
	{name: "wildcard needs a non-empty rest", method: "GET", path: "/shapes/"},

	// Methods.
	{name: "other method, same path", method: "POST", path: "/orders",
		want: Match{API: "orders", Resource: "orders-create", Path: "/orders"}},
	{name: "method mismatch", method: "POST", path: "/orders/1"},
	{name: "unknown method", method: "DELETE", path: "/orders"},
	{name: "method is case-sensitive", method: "get", path: "/orders"},

	// Trailing slashes.
	{name: "no trailing slash", method: "GET", path: "/users/1",
		want: Match{API: "users", Resource: "users-get", Path: "/users/1", Params: params("id", "1")}},
	{name: "trailing slash template", method: "GET", path: "/users/1/",
		want: Match{API: "users", Resource: "users-get-slash", Path: "/users/1/", Params: params("id", "1")}},
	{name: "trailing dot refused", method: "GET", path: "/users/1/."},
	{name: "trailing dot-dot refused", method: "GET", path: "/users/1/x/.."},
	{name: "trailing slash is not the context resource", method: "GET", path: "/users/"},
	{name: "trailing slash falls to the wildcard", method: "GET", path: "/orders/1/items/",
		want: Match{API: "orders", Resource: "orders-rest", Path: "/orders/1/items/", Params: params("*", "1/items/")}},
	{name: "too deep", method: "GET", path: "/users/1/x"},

	// Contexts.
	{name: "context is whole segments", method: "GET", path: "/ordersX/1"},
	{name: "context not a prefix of the segment", method: "GET", path: "/orders2"},
	{name: "longest context", method: "GET", path: "/orders/v2/7",
		want: Match{API: "orders-v2", Resource: "v2-get", Path: "/orders/v2/7", Params: params("id", "7")}},
	{name: "no fallback to a shorter context", method: "GET", path: "/orders/v2"},
	{name: "no fallback to a shorter context's wildcard", method: "GET", path: "/orders/v2/7/x"},
	{name: "sibling of the longer context", method: "GET", path: "/orders/v3",
		want: Match{API: "orders", Resource: "orders-get", Path: "/orders/v3", Params: params("id", "v3")}},
	{name: "no API for the path", method: "GET", path: "/other"},

	// Hosts.
	{name: "host-less API", host: "us.example.com", method: "GET", path: "/payments/1",
		want: Match{API: "payments", Resource: "pay-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "no authority", method: "GET", path: "/payments/1",
		want: Match{API: "payments", Resource: "pay-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "host-bound API preferred", host: "eu.example.com", method: "GET", path: "/payments/1",
		want: Match{API: "payments-eu", Resource: "pay-eu-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "port ignored", host: "eu.example.com:8443", method: "GET", path: "/payments/1",
		want: Match{API: "payments-eu", Resource: "pay-eu-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "host case ignored", host: "EU.Example.COM:443", method: "GET", path: "/payments/1",
		want: Match{API: "payments-eu", Resource: "pay-eu-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "IPv6 authority", host: "[::1]:8080", method: "GET", path: "/payments/1",
		want: Match{API: "payments", Resource: "pay-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "host-bound root context", host: "www.example.com", method: "GET", path: "/files/a/b",
		want: Match{API: "site", Resource: "files", Path: "/files/a/b", Params: params("*", "a/b")}},
	{name: "host-bound root resource", host: "WWW.example.com:80", method: "GET", path: "/",
		want: Match{API: "site", Resource: "home", Path: "/"}},
	{name: "host-bound root context, other host", host: "us.example.com", method: "GET", path: "/files/a"},
	{name: "longer context wins over host-bound root", host: "www.example.com", method: "GET", path: "/orders/1",
		want: Match{API: "orders", Resource: "orders-get", Path: "/orders/1", Params: params("id", "1")}},

	// context_extensions.
	{name: "api name overrides host", api: "payments-eu", host: "us.example.com", method: "GET", path: "/payments/1",
		want: Match{API: "payments-eu", Resource: "pay-eu-get", Path: "/payments/1", Params: params("id", "1")}},
	{name: "api name overrides context", api: "orders", method: "GET", path: "/orders/v2/7",
		want: Match{API: "orders", Resource: "orders-rest", Path: "/orders/v2/7", Params: params("*", "v2/7")}},
	{name: "api name overrides host binding", api: "site", host: "us.example.com", method: "GET", path: "/files/a",
		want: Match{API: "site", Resource: "files", Path: "/files/a", Params: params("*", "a")}},
	{name: "api name, path outside it", api: "payments", method: "GET", path: "/orders/1"},
	{name: "unknown api name", api: "nope", method: "GET", path: "/orders/1"},

	// Normalisation before matching, and paths that mean different things to
	// different servers, refused.
	{name: "dot-dot into another API refused", method: "GET", path: "/orders/../payments/1"},
	{name: "double slashes refused", method: "GET", path: "//orders//123"},
	{name: "decoded unreserved", method: "GET", path: "/%6Frders/%70ending",
		want: Match{API: "orders", Resource: "orders-pending", Public: true, Path: "/orders/pending"}},
	{name: "encoded dot-dot refused", method: "GET", path: "/payments/%2e%2e/orders"},
	{name: "query ignored", method: "GET", path: "/orders/123?x=1#f",
		want: Match{API: "orders", Resource: "orders-get", Path: "/orders/123", Params: params("id", "123")}},
	{name: "encoded slash refused", method: "GET", path: "/orders/a%2fb"},
	{name: "encoded slash is one segment when allowed", method: "GET", path: "/orders/a%2fb", encodedSlashes: true,
		want: Match{API: "orders", Resource: "orders-get", Path: "/orders/a%2Fb", Params: params("id", "a%2Fb")}},
	{name: "encoded slash then literal when allowed", method: "GET", path: "/orders/a%2Fb/items", encodedSlashes: true,
		want: Match{API: "orders", Resource: "orders-items", Path: "/orders/a%2Fb/items", Params: params("id", "a%2Fb")}},
	{name: "encoded slash does not split context", method: "GET", path: "/orders%2Fv2/7"},

	// Invalid paths.
	{name: "bad escape", method: "GET", path: "/orders/%zz"},
	{name: "encoded NUL", method: "GET", path: "/orders/%00"},
	{name: "backslash", method: "GET", path: "/orders/a\\b"},
	{name: "control char", method: "GET", path: "/orders/\x01"},
	{name: "relative path", method: "GET", path: "orders/1"},
	{name: "empty path", method: "GET", path: ""},
}

func TestMatch(t *testing.T) {
	for _, order := range []struct {
		name string
		apis []API
	}{{"in order", testAPIs()}, {"reversed", reversed(testAPIs())}} {
		r, err := Compile(order.apis)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(order.name, func(t *testing.T) {
			for _, tt := range matchCases {
				t.Run(tt.name, func(t *testing.T) {
					got, ok := match(r, tt)
					if ok != (tt.want.Resource != "") || !reflect.DeepEqual(got, tt.want) {
						t.Fatalf("Match(%q, %q, %q, %q) = %+v, %v; want %+v",
							tt.api, tt.host, tt.method, tt.path, got, ok, tt.want)
					}
				})
			}
		})
	}
}

// match matches a case as a check does: the host and the path in normal form first,
// and a request whose host or path is refused matches nothing.
func match(r *Router, tt matchCase) (Match, bool) {
	host, err := Host(tt.host)
	if err != nil {
		return Match{}, false
	}
	path, err := Normalize(tt.path, tt.encodedSlashes)
	if err != nil {
		return Match{}, false
	}
	return r.Match(tt.api, host, tt.method, path)
}

func TestMatchConcurrent(t *testing.T) {
	r, err := Compile(testAPIs())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, tt := range matchCases {
				match(r, tt)
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		path string
		n    int
		want string
	}{
		{"/a/b/c", 0, ""},
		{"/a/b/c", 1, "/a"},
		{"/a/b/c", 2, "/a/b"},
		{"/a/b/c", 3, "/a/b/c"},
		{"/a/b/c", 9, "/a/b/c"},
		{"/", 1, "/"},
		{"/a/", 1, "/a"},
	}
	for _, tt := range tests {
		if got := tt.path[:prefixEnd(tt.path, tt.n)]; got != tt.want {
			t.Errorf("prefixEnd(%q, %d) -> %q; want %q", tt.path, tt.n, got, tt.want)
		}
	}
}

// A long path costs time linear in its length, not quadratic.
func BenchmarkMatchLongPath(b *testing.B) {
	var apis []API
	for i := range 50 {
		ctx := fmt.Sprintf("/api%d/v1", i)
		apis = append(apis, API{Name: fmt.Sprintf("api%d", i), Context: ctx, Resources: []Resource{get("r", ctx+"/*")}})
	}
	r, err := Compile(apis)
	if err != nil {
		b.Fatal(err)
	}
	path := "/api7/v1" + strings.Repeat("/abcdefgh", 60000/9)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := r.Match("", "h", "GET", path); !ok {
			b.Fatal("no match")
		}
	}
}
