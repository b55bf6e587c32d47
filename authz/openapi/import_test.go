package openapi

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
)

// versions are the OpenAPI versions every case runs with.
var versions = []string{"3.0.3", "3.1.0"}

// doc returns a document of the given version with body as its servers, security and
// paths: info, the security schemes the cases name and, for 3.1, features 3.0 lacks.
func doc(version, body string) []byte {
	var b strings.Builder
	b.WriteString("openapi: " + version + "\ninfo:\n  title: Acme Orders\n  version: '1'\n")
	nullable := "{type: string, nullable: true}"
	if strings.HasPrefix(version, "3.1") {
		b.WriteString("  license: {name: Apache 2.0, identifier: Apache-2.0}\n" +
			"jsonSchemaDialect: https://spec.openapis.org/oas/3.1/dialect/base\n" +
			"webhooks:\n  ping:\n    post:\n      responses: {'200': {description: ok}}\n")
		nullable = "{type: [string, 'null']}"
	}
	b.WriteString(body)
	b.WriteString(`
components:
  schemas:
    Note: ` + nullable + `
  securitySchemes:
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: https://id.acme.test/token, scopes: {}}}
    oidc: {type: openIdConnect, openIdConnectUrl: https://id.acme.test/.well-known/openid-configuration}
    key: {type: apiKey, in: header, name: X-API-Key}
    weird: {type: OAuth2}
`)
	return []byte(b.String())
}

// fixtureResources are the resources of the orders fixtures under context ctx.
func fixtureResources(ctx string) []catalog.Resource {
	req := func(method, path string, scopes ...string) catalog.Resource {
		return catalog.Resource{Method: method, Path: ctx + path, Scopes: scopes, Auth: catalog.AuthRequired}
	}
	public := func(method, path string) catalog.Resource {
		return catalog.Resource{Method: method, Path: ctx + path, Auth: catalog.AuthNone}
	}
	return []catalog.Resource{
		public("GET", ""),
		public("HEAD", "/health"),
		req("OPTIONS", "/health"),
		req("GET", "/orders", "urn:acme:orders:read"),
		req("POST", "/orders", "urn:acme:orders:write", "urn:acme:orders:read"),
		req("DELETE", "/orders/{id}", "urn:acme:orders:delete"),
		req("GET", "/orders/{id}", "openid", "orders.read"),
		req("PATCH", "/orders/{id}"),
		public("HEAD", "/status"),
		req("OPTIONS", "/status"),
	}
}

func TestImportFixtures(t *testing.T) {
	tests := []struct {
		name, file, apiName, context string
		want                         catalog.API
	}{
		{name: "3.0 YAML", file: "orders-3.0.yaml",
			want: catalog.API{Name: "acme-orders-v1", Context: "/orders/v1", Resources: fixtureResources("/orders/v1")}},
		{name: "3.0 JSON indented with tabs", file: "orders-3.0.json",
			want: catalog.API{Name: "acme-orders-v1", Context: "/orders/v1", Resources: fixtureResources("/orders/v1")}},
		{name: "3.1 YAML, relative server URL", file: "orders-3.1.yaml",
			want: catalog.API{Name: "acme-orders-next", Context: "/orders/v2", Resources: fixtureResources("/orders/v2")}},
		{name: "3.0 name and context given", file: "orders-3.0.yaml", apiName: "orders", context: "shop/",
			want: catalog.API{Name: "orders", Context: "/shop", Resources: fixtureResources("/shop")}},
		{name: "3.1 name and context given", file: "orders-3.1.yaml", apiName: "Orders_2", context: "/shop/api",
			want: catalog.API{Name: "Orders_2", Context: "/shop/api", Resources: fixtureResources("/shop/api")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := importFile(t, tt.file, tt.apiName, tt.context)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Import =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// importFile imports a fixture, failing the test on error.
func importFile(t *testing.T, file, name, context string) catalog.API {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	api, err := Import(raw, name, context)
	if err != nil {
		t.Fatalf("Import %s: %v", file, err)
	}
	return api
}

const (
	// serverV1 is a servers list with a context of /v1.
	serverV1 = "servers: [{url: 'https://api.acme.test/v1'}]\n"
	// getOrders is a paths object with one operation inheriting the top-level security.
	getOrders = "paths:\n  /orders:\n    get:\n      responses: {'200': {description: ok}}\n"
)

// getOrdersWith is a paths object with one operation with its own security.
func getOrdersWith(security string) string {
	return "paths:\n  /orders:\n    get:\n      security: " + security + "\n      responses: {'200': {description: ok}}\n"
}

func TestImportCases(t *testing.T) {
	tests := []struct {
		name, body, apiName, context string
		want                         catalog.API
	}{
		{name: "no security anywhere: a token is required", body: serverV1 + getOrders,
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired))},
		{name: "top-level security: [] makes inheriting operations public", body: serverV1 + "security: []\n" + getOrders,
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthNone))},
		{name: "operation overrides a public top level", body: serverV1 + "security: []\n" + getOrdersWith("[{oauth: [a, b]}]"),
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired, "a", "b"))},
		{name: "security: null inherits", body: serverV1 + "security: [{oauth: [a]}]\n" + getOrdersWith("null"),
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired, "a"))},
		{name: "oauth2 and openIdConnect scopes joined in scheme order, without duplicates",
			body: serverV1 + getOrdersWith("[{oidc: [openid, 'urn:acme:orders:read'], oauth: ['urn:acme:orders:read', x]}]"),
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired, "urn:acme:orders:read", "x", "openid"))},
		{name: "apiKey only", body: serverV1 + getOrdersWith("[{key: []}]"),
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired))},
		{name: "server variables take their defaults",
			body: "servers:\n  - url: 'https://{env}.acme.test/{base}/v1'\n    variables:\n      env: {default: api}\n      base: {default: orders, enum: [orders]}\n" + getOrders,
			want: api("acme-orders", "/orders/v1", res("GET", "/orders/v1/orders", catalog.AuthRequired))},
		{name: "relative server URL", body: "servers: [{url: /v1/}]\n" + getOrders,
			want: api("acme-orders", "/v1", res("GET", "/v1/orders", catalog.AuthRequired))},
		{name: "context given overrides servers", body: serverV1 + getOrders, context: "/shop",
			want: api("acme-orders", "/shop", res("GET", "/shop/orders", catalog.AuthRequired))},
		{name: "context given without servers", body: getOrders, apiName: "shop", context: "shop",
			want: api("shop", "/shop", res("GET", "/shop/orders", catalog.AuthRequired))},
		{name: "root context given", body: getOrders, context: "/",
			want: api("acme-orders", "/", res("GET", "/orders", catalog.AuthRequired))},
		{name: "path / is the context", body: serverV1 + "paths:\n  /:\n    get:\n      responses: {'200': {description: ok}}\n",
			want: api("acme-orders", "/v1", res("GET", "/v1", catalog.AuthRequired))},
	}
	for _, version := range versions {
		for _, tt := range tests {
			t.Run(version+" "+tt.name, func(t *testing.T) {
				got, err := Import(doc(version, tt.body), tt.apiName, tt.context)
				if err != nil {
					t.Fatalf("Import: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Import =\n%+v\nwant\n%+v", got, tt.want)
				}
			})
		}
	}
}

func api(name, context string, resources ...catalog.Resource) catalog.API {
	return catalog.API{Name: name, Context: context, Resources: resources}
}

func res(method, path, auth string, scopes ...string) catalog.Resource {
	return catalog.Resource{Method: method, Path: path, Auth: auth, Scopes: scopes}
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name, body, apiName, context string
		want                         []string // parts of the error
	}{
		{name: "alternative requirements", body: serverV1 + getOrdersWith("[{oauth: [a]}, {key: []}]"),
			want: []string{"paths./orders.get: security lists 2 alternative requirements", "exactly one"}},
		{name: "optional authentication", body: serverV1 + getOrdersWith("[{}, {oauth: [a]}]"),
			want: []string{"paths./orders.get: security lists 2 alternative requirements"}},
		{name: "inherited alternatives", body: serverV1 + "security: [{oauth: [a]}, {oidc: [b]}]\n" + getOrders,
			want: []string{"paths./orders.get: security (top level) lists 2 alternative requirements"}},
		{name: "null requirement", body: serverV1 + getOrdersWith("[~]"),
			want: []string{"paths./orders.get: security: a requirement is null"}},
		{name: "unknown scheme", body: serverV1 + getOrdersWith("[{oauth: [a], nope: []}]"),
			want: []string{`paths./orders.get: security: scheme "nope" is not defined in components.securitySchemes`}},
		{name: "inherited unknown scheme", body: serverV1 + "security: [{nope: []}]\n" + getOrders,
			want: []string{`paths./orders.get: security (top level): scheme "nope" is not defined`}},
		{name: "unknown scheme type", body: serverV1 + getOrdersWith("[{weird: [a]}]"),
			want: []string{`paths./orders.get: security: components.securitySchemes.weird: type "OAuth2" must be one of`}},
		{name: "scope with a space", body: serverV1 + getOrdersWith("[{oauth: ['read orders']}]"),
			want: []string{"paths./orders.get: ", `scope "read orders" is not a valid scope token`}},
		{name: "scope with a quote", body: serverV1 + getOrdersWith(`[{oidc: ['a"b']}]`),
			want: []string{"paths./orders.get: ", `scope "a\"b" is not a valid scope token`}},
		{name: "path template the router refuses",
			body: serverV1 + "paths:\n  /files/{name}.json:\n    get:\n      responses: {'200': {description: ok}}\n",
			want: []string{"paths./files/{name}.json.get: ", "must fill a whole segment"}},
		{name: "operations no request could tell apart",
			body: serverV1 + "paths:\n  /a/{x}:\n    get: {responses: {'200': {description: ok}}}\n  /a/{y}:\n    get: {responses: {'200': {description: ok}}}\n",
			want: []string{"paths: ", `duplicates resource "GET /v1/a/{x}"`}},
		{name: "wildcard in a path", body: serverV1 + "paths:\n  /files/*:\n    get: {responses: {'200': {description: ok}}}\n",
			want: []string{"paths./files/*: '*' cannot be imported"}},
		{name: "path without leading slash", body: serverV1 + "paths:\n  files:\n    get: {responses: {'200': {description: ok}}}\n",
			want: []string{"paths.files: a path must start with /"}},
		{name: "no operations", body: serverV1 + "paths: {}\n",
			want: []string{"paths: the document has no operations"}},
		{name: "no servers and no context", body: getOrders,
			want: []string{"servers: none", "pass --context"}},
		{name: "server URL without a path", body: "servers: [{url: 'https://api.acme.test/'}]\n" + getOrders,
			want: []string{`servers[0].url: "https://api.acme.test/" has no path`, "pass --context"}},
		{name: "server URL relative to the document", body: "servers: [{url: v1}]\n" + getOrders,
			want: []string{`servers[0].url: "v1" is relative`, "pass --context"}},
		{name: "server variable without default", body: "servers: [{url: '/{base}'}]\n" + getOrders,
			want: []string{`servers[0].url: "/{base}" has a variable without a default`, "pass --context"}},
		{name: "name given that the catalog refuses", body: serverV1 + getOrders, apiName: "bad name",
			want: []string{`API name "bad name", context "/v1": `, "name must be"}},
		{name: "context given that the catalog refuses", body: serverV1 + getOrders, context: "/a{b}",
			want: []string{`API name "acme-orders", context "/a{b}": `, "context"}},
		{name: "invalid YAML", body: "paths: [\n", want: []string{"read OpenAPI document"}},
		{name: "security of the wrong type", body: serverV1 + "security: 5\n" + getOrders,
			want: []string{"read OpenAPI document", "security"}},
	}
	for _, version := range versions {
		for _, tt := range tests {
			t.Run(version+" "+tt.name, func(t *testing.T) {
				got, err := Import(doc(version, tt.body), tt.apiName, tt.context)
				if err == nil {
					t.Fatalf("Import = %+v, want an error", got)
				}
				for _, part := range tt.want {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("error %q\ndoes not contain %q", err, part)
					}
				}
			})
		}
	}
}

func TestNameFromTitle(t *testing.T) {
	tests := []struct{ title, want string }{
		{"Acme Orders", "acme-orders"},
		{"  Acme Orders — Next ✓ ", "acme-orders-next"},
		{"orders.v1_beta-2", "orders.v1_beta-2"},
		{"(Orders) API", "orders-api"},
		{"..hidden..", "hidden"},
		{strings.Repeat("a", 127) + " b", strings.Repeat("a", 127)},
		{"Ü", ""},
		{"", ""},
	}
	for _, tt := range tests {
		for _, version := range versions {
			raw := []byte(strings.Replace(string(doc(version, serverV1+getOrders)), "Acme Orders", `"`+tt.title+`"`, 1))
			got, err := Import(raw, "", "")
			switch {
			case tt.want == "" && (err == nil || !strings.Contains(err.Error(), "info.title: ")):
				t.Errorf("%s: title %q: Import = %q, %v; want an info.title error", version, tt.title, got.Name, err)
			case tt.want != "" && (err != nil || got.Name != tt.want):
				t.Errorf("%s: title %q: Import = %q, %v; want %q", version, tt.title, got.Name, err, tt.want)
			}
		}
	}
}

func TestImportRefusesDocuments(t *testing.T) {
	swagger, err := os.ReadFile("testdata/swagger-2.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	paths := "info: {title: x, version: '1'}\nservers: [{url: /x}]\n" + getOrders
	tests := []struct {
		name string
		raw  []byte
		want string
	}{
		{"Swagger 2.0", swagger, "Swagger 2.0 document; convert it to OpenAPI 3"},
		{"OpenAPI 3.2", []byte("openapi: 3.2.0\n" + paths), `version "3.2.0" is not supported`},
		{"OpenAPI 2", []byte("openapi: 2.0.0\n" + paths), `version "2.0.0" is not supported`},
		{"version without patch", []byte("openapi: '3.1'\n" + paths), `version "3.1" is not supported`},
		{"version as a number", []byte("openapi: 3.0\n" + paths), `openapi: 3 must be a version string`},
		{"no version", []byte(paths), "openapi: missing"},
		{"empty", nil, "openapi: missing"},
		{"JSON without version", []byte(`{"info": {"title": "x"}}`), "openapi: missing"},
		{"not a mapping", []byte("[1, 2]"), "read OpenAPI document"},
		{"invalid JSON", []byte(`{"openapi": "3.1.0",`), "read OpenAPI document"},
		{"duplicate keys", []byte(`{"openapi": "3.1.0", "security": [], "security": [{"k": []}]}`), `"security" already defined`},
		{"duplicate keys in an operation", []byte(`{"openapi": "3.1.0", "info": {"title": "x", "version": "1"},
			"paths": {"/a": {"get": {"security": [], "security": [{"k": []}]}}}}`), `"security" already defined`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Import(tt.raw, "", "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Import = %+v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

// TestImportRefusesExternalRefs checks that a reference to another document, by URL or
// by file, is an error and that nothing is fetched or read.
func TestImportRefusesExternalRefs(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("Order: {type: object}\n"))
	}))
	defer srv.Close()
	refs := []string{srv.URL + "/schemas.yaml#/Order", "external.yaml#/Order", "testdata/external.yaml#/Order"}
	for _, version := range versions {
		for _, ref := range refs {
			body := serverV1 + "paths:\n  /orders:\n    get:\n      responses:\n        '200':\n" +
				"          description: ok\n          content: {application/json: {schema: {$ref: '" + ref + "'}}}\n"
			got, err := Import(doc(version, body), "", "")
			if err == nil || !strings.Contains(err.Error(), "disallowed external reference") {
				t.Errorf("%s: $ref %s: Import = %+v, %v; want a disallowed external reference", version, ref, got, err)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server was asked %d times for a referenced document", n)
	}
}
