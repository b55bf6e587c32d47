package catalog

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var issuers = []string{"demo", "asgardeo"}

const validYAML = `
apis:
  - name: orders
    context: /orders
    hosts: [api.acme.test]
    resources:
      - {method: GET, path: "/orders/{id}", scopes: ["urn:acme:orders:read"]}
      - {method: POST, path: /orders, scopes: [write, read]}
      - {method: GET, path: "/orders/docs/*", auth: none}
  - name: payments
    context: /payments
    resources:
      - {method: GET, path: /payments}
applications:
  - name: shop-web
    client_ids:
      - {issuer: demo, client_id: web-prod, environment: production}
      - {issuer: asgardeo, client_id: web-sandbox, environment: sandbox}
  - name: reporting
    client_ids:
      - {issuer: demo, client_id: reporting, environment: production}
subscriptions:
  - {application: shop-web, api: orders}
  - {application: shop-web, api: payments, status: blocked}
  - {application: reporting, api: orders, status: prod_only_blocked}
`

const validJSON = `{
  "apis": [
    {"name": "orders", "context": "/orders", "hosts": ["api.acme.test"], "resources": [
      {"method": "GET", "path": "/orders/{id}", "scopes": ["urn:acme:orders:read"]},
      {"method": "POST", "path": "/orders", "scopes": ["write", "read"]},
      {"method": "GET", "path": "/orders/docs/*", "auth": "none"}]},
    {"name": "payments", "context": "/payments", "resources": [{"method": "GET", "path": "/payments"}]}
  ],
  "applications": [
    {"name": "shop-web", "client_ids": [
      {"issuer": "demo", "client_id": "web-prod", "environment": "production"},
      {"issuer": "asgardeo", "client_id": "web-sandbox", "environment": "sandbox"}]},
    {"name": "reporting", "client_ids": [{"issuer": "demo", "client_id": "reporting", "environment": "production"}]}
  ],
  "subscriptions": [
    {"application": "shop-web", "api": "orders"},
    {"application": "shop-web", "api": "payments", "status": "blocked"},
    {"application": "reporting", "api": "orders", "status": "prod_only_blocked"}
  ]
}`

func TestParseDocument(t *testing.T) {
	want := map[string]any{
		"apis": map[string]any{
			"orders": map[string]any{
				"name":    "orders",
				"context": "/orders",
				"hosts":   []any{"api.acme.test"},
				"resources": map[string]any{
					"GET /orders/{id}":   map[string]any{"method": "GET", "path": "/orders/{id}", "scopes": []any{"urn:acme:orders:read"}, "auth": "required"},
					"POST /orders":       map[string]any{"method": "POST", "path": "/orders", "scopes": []any{"write", "read"}, "auth": "required"},
					"GET /orders/docs/*": map[string]any{"method": "GET", "path": "/orders/docs/*", "scopes": []any{}, "auth": "none"},
				},
			},
			"payments": map[string]any{
				"name":    "payments",
				"context": "/payments",
				"hosts":   []any{},
				"resources": map[string]any{
					"GET /payments": map[string]any{"method": "GET", "path": "/payments", "scopes": []any{}, "auth": "required"},
				},
			},
		},
		"applications": map[string]any{
			"shop-web": map[string]any{"name": "shop-web", "client_ids": []any{
				map[string]any{"issuer": "demo", "client_id": "web-prod", "environment": "production"},
				map[string]any{"issuer": "asgardeo", "client_id": "web-sandbox", "environment": "sandbox"},
			}},
			"reporting": map[string]any{"name": "reporting", "client_ids": []any{
				map[string]any{"issuer": "demo", "client_id": "reporting", "environment": "production"},
			}},
		},
		"client_ids": map[string]any{
			"demo": map[string]any{
				"web-prod":  map[string]any{"application": "shop-web", "environment": "production"},
				"reporting": map[string]any{"application": "reporting", "environment": "production"},
			},
			"asgardeo": map[string]any{
				"web-sandbox": map[string]any{"application": "shop-web", "environment": "sandbox"},
			},
		},
		"subscriptions": map[string]any{
			"shop-web":  map[string]any{"orders": map[string]any{"status": "active"}, "payments": map[string]any{"status": "blocked"}},
			"reporting": map[string]any{"orders": map[string]any{"status": "prod_only_blocked"}},
		},
	}
	for _, tt := range []struct{ name, raw string }{{"yaml", validYAML}, {"json", validJSON}} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.raw), issuers)
			if err != nil {
				t.Fatal(err)
			}
			got := c.Document()
			for _, key := range []string{"apis", "applications", "client_ids", "subscriptions"} {
				if !reflect.DeepEqual(got[key], want[key]) {
					t.Errorf("Document()[%q] =\n%#v\nwant\n%#v", key, got[key], want[key])
				}
			}
			if len(got) != len(want) {
				t.Errorf("Document() has keys %v", keys(got))
			}
		})
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestParseEmptyCatalog(t *testing.T) {
	c, err := Parse([]byte("apis: []\n"), issuers)
	if err != nil {
		t.Fatal(err)
	}
	doc := c.Document()
	for _, key := range []string{"apis", "applications", "client_ids", "subscriptions"} {
		if m, ok := doc[key].(map[string]any); !ok || len(m) != 0 {
			t.Errorf("Document()[%q] = %#v, want an empty object", key, doc[key])
		}
	}
}

func TestRouter(t *testing.T) {
	c, err := Parse([]byte(validYAML), issuers)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Router()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := r.Match("", "api.acme.test", "GET", "/orders/42")
	if !ok || m.API != "orders" || m.Resource != "GET /orders/{id}" || m.Params["id"] != "42" {
		t.Errorf("Match = %+v, %v", m, ok)
	}
	if m, ok := r.Match("", "api.acme.test", "GET", "/orders/docs/a/b"); !ok || !m.Public {
		t.Errorf("public resource: Match = %+v, %v; want public", m, ok)
	}
}

// api renders a one-API catalog with the given resources (flow mappings).
func api(name, context string, resources ...string) string {
	return "apis:\n  - name: " + name + "\n    context: " + context + "\n    resources:\n      - " +
		strings.Join(resources, "\n      - ") + "\n"
}

const (
	ordersAPI = "apis:\n  - {name: orders, context: /orders, resources: [{method: GET, path: /orders}]}\n"
	shopApp   = "applications:\n  - {name: shop, client_ids: [{issuer: demo, client_id: shop-prod, environment: production}]}\n"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []string // substrings of the error
	}{
		{"empty document", "", []string{"empty"}},
		{"two documents", ordersAPI + "---\n" + ordersAPI, []string{"more than one"}},
		{"unknown top-level key", ordersAPI + "plans: []\n", []string{`unknown key "plans"`, "line 3"}},
		{"unknown resource key", api("orders", "/orders", "{method: GET, path: /orders, scope: [read]}"), []string{`unknown key "scope"`, "line 5"}},
		{"unknown key in json", `{"apis": [{"name": "orders", "ctx": "/orders"}]}`, []string{`unknown key "ctx"`, "line 1"}},

		// APIs.
		{"bad API name", api("my orders", "/orders", "{method: GET, path: /orders}"), []string{`apis[0] "my orders"`, "name must be"}},
		{"empty API name", api(`""`, "/orders", "{method: GET, path: /orders}"), []string{`apis[0] ""`, "name must be"}},
		{"duplicate API name", ordersAPI + "  - {name: orders, context: /other, resources: [{method: GET, path: /other}]}\n",
			[]string{`apis[1] "orders"`, "also used by apis[0]"}},
		{"host with port", "apis:\n  - {name: o, context: /o, hosts: [\"api.test:443\"], resources: [{method: GET, path: /o}]}\n",
			[]string{`apis[0] "o"`, `host "api.test:443"`}},
		{"uppercase host", "apis:\n  - {name: o, context: /o, hosts: [API.test], resources: [{method: GET, path: /o}]}\n",
			[]string{`apis[0] "o"`, `host "API.test"`}},
		{"API without resources", "apis:\n  - {name: o, context: /o}\n", []string{`apis[0] "o"`, "has no resources"}},
		{"bad method", api("o", "/o", "{method: get, path: /o}"), []string{`apis[0] "o"`, `resources[0] "get /o"`, `method "get"`}},
		{"unknown method", api("o", "/o", "{method: GET, path: /o}", "{method: FETCH, path: /o}"), []string{`resources[1]`, `method "FETCH"`}},
		{"bad auth", api("o", "/o", "{method: GET, path: /o, auth: optional}"), []string{`apis[0] "o"`, `resources[0]`, `auth "optional"`}},
		{"public resource with scopes", api("o", "/o", "{method: GET, path: /o, auth: none, scopes: [read]}"), []string{`resources[0]`, "public resource", "cannot require scopes"}},
		{"scope with space", api("o", "/o", `{method: GET, path: /o, scopes: ["read write"]}`), []string{`resources[0]`, `scope "read write"`}},
		{"scope with quote", api("o", "/o", `{method: GET, path: /o, scopes: ['say"hi']}`), []string{`resources[0]`, "scope", "not a valid scope token"}},
		{"scope with backslash", api("o", "/o", `{method: GET, path: /o, scopes: ['a\b']}`), []string{`resources[0]`, "not a valid scope token"}},
		{"empty scope", api("o", "/o", `{method: GET, path: /o, scopes: [""]}`), []string{`resources[0]`, `scope ""`}},
		{"non-ASCII scope", api("o", "/o", `{method: GET, path: /o, scopes: ["lesen-ä"]}`), []string{`resources[0]`, "not a valid scope token"}},

		// Router compile.
		{"template without leading slash", api("o", "/o", "{method: GET, path: o/x}"), []string{`apis[0] "o"`, `resources[0]`, "must start with /"}},
		{"star not last", api("o", "/o", `{method: GET, path: "/o/*/x"}`), []string{`apis[0] "o"`, "* is allowed only as the last segment"}},
		{"bad parameter", api("o", "/o", `{method: GET, path: "/o/{1x}"}`), []string{`apis[0] "o"`, "parameter"}},
		{"parameter twice", api("o", "/o", `{method: GET, path: "/o/{id}/{id}"}`), []string{`apis[0] "o"`, "appears twice"}},
		{"empty segment", api("o", "/o", `{method: GET, path: "/o//x"}`), []string{`apis[0] "o"`, "empty segment"}},
		{"duplicate resource", api("o", "/o", `{method: GET, path: "/o/{id}"}`, `{method: GET, path: "/o/{key}"}`),
			[]string{`apis[0] "o"`, `resources[1]`, "duplicates resource"}},
		{"resource outside context", api("o", "/orders", "{method: GET, path: /payments}"), []string{`apis[0] "o"`, "not under the API's context"}},
		{"resource on a context prefix", api("o", "/orders", "{method: GET, path: /ordersx}"), []string{`apis[0] "o"`, "not under the API's context"}},
		{"context with trailing slash", api("o", "/orders/", "{method: GET, path: /orders/x}"), []string{`apis[0] "o"`, "context"}},

		// Applications.
		{"bad application name", ordersAPI + "applications:\n  - {name: shop web}\n", []string{`applications[0] "shop web"`, "name must be"}},
		{"duplicate application name", ordersAPI + "applications:\n  - {name: shop}\n  - {name: shop}\n", []string{`applications[1] "shop"`, "also used by applications[0]"}},
		{"client ID bound to two applications", ordersAPI + "applications:\n" +
			"  - {name: web, client_ids: [{issuer: demo, client_id: c1, environment: production}]}\n" +
			"  - {name: mobile, client_ids: [{issuer: demo, client_id: c1, environment: sandbox}]}\n",
			[]string{`applications[1] "mobile": client_ids[0]`, `client ID "c1"`, `issuer "demo"`, `already bound to application "web"`}},
		{"client ID bound twice in one application", ordersAPI + "applications:\n" +
			"  - {name: web, client_ids: [{issuer: demo, client_id: c1, environment: production}, {issuer: demo, client_id: c1, environment: sandbox}]}\n",
			[]string{`applications[0] "web": client_ids[1]`, `client ID "c1"`, `already bound to application "web"`}},
		{"unknown issuer", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: okta, client_id: c1, environment: production}]}\n",
			[]string{`applications[0] "web": client_ids[0]`, `issuer "okta" is not a configured issuer`, "demo, asgardeo"}},
		{"bad environment", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: c1, environment: staging}]}\n",
			[]string{`applications[0] "web": client_ids[0]`, `environment "staging"`}},
		{"missing environment", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: c1}]}\n",
			[]string{`applications[0] "web": client_ids[0]`, `environment ""`}},
		{"client_id with control character", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: \"c\\x01\", environment: production}]}\n",
			[]string{`applications[0] "web": client_ids[0]`, "client_id", "printable ASCII"}},
		{"client_id with newline", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: \"c\\n\", environment: production}]}\n",
			[]string{`client_ids[0]`, "printable ASCII"}},
		{"client_id with leading space", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: \" c\", environment: production}]}\n",
			[]string{`client_ids[0]`, "printable ASCII"}},
		{"empty client_id", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: \"\", environment: production}]}\n",
			[]string{`applications[0] "web": client_ids[0]`, `client_id ""`}},

		// Subscriptions.
		{"subscription to unknown API", ordersAPI + shopApp + "subscriptions:\n  - {application: shop, api: payments}\n",
			[]string{"subscriptions[0] shop -> payments", `unknown API "payments"`}},
		{"subscription of unknown application", ordersAPI + shopApp + "subscriptions:\n  - {application: shop, api: orders}\n  - {application: ghost, api: orders}\n",
			[]string{"subscriptions[1] ghost -> orders", `unknown application "ghost"`}},
		{"bad status", ordersAPI + shopApp + "subscriptions:\n  - {application: shop, api: orders, status: paused}\n",
			[]string{"subscriptions[0] shop -> orders", `status "paused"`}},
		{"duplicate subscription", ordersAPI + shopApp + "subscriptions:\n  - {application: shop, api: orders}\n  - {application: shop, api: orders, status: blocked}\n",
			[]string{"subscriptions[1] shop -> orders", "duplicates subscriptions[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.raw), issuers)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"no applications or subscriptions", ordersAPI},
		{"scope with punctuation", api("o", "/o", `{method: GET, path: /o, scopes: ["urn:acme:o:read", "a/b!#$%&'()*+,-.;<=>?@[]^_{|}~"]}`)},
		{"all methods", api("o", "/o", "{method: GET, path: /o}", "{method: HEAD, path: /o}", "{method: POST, path: /o}",
			"{method: PUT, path: /o}", "{method: PATCH, path: /o}", "{method: DELETE, path: /o}", "{method: OPTIONS, path: /o}",
			"{method: TRACE, path: /o}", "{method: CONNECT, path: /o}")},
		{"same path, different methods", api("o", "/o", `{method: GET, path: "/o/{id}"}`, `{method: PUT, path: "/o/{id}"}`)},
		{"client_id with inner space", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: \"my client\", environment: production}]}\n"},
		{"same client_id at two issuers", ordersAPI + "applications:\n  - {name: web, client_ids: [{issuer: demo, client_id: c, environment: production}]}\n" +
			"  - {name: mobile, client_ids: [{issuer: asgardeo, client_id: c, environment: production}]}\n"},
		{"same API name as application", ordersAPI + "applications:\n  - {name: orders}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.raw), issuers); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apis: [{name: o}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml"), []string{"read data", "nope.yaml"}},
		{"invalid file names the path", bad, []string{"data " + bad, "has no resources"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, issuers)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadExample(t *testing.T) {
	c, err := Load("../../examples/data.yaml", []string{"demo"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.APIs) != 2 || len(c.Applications) != 2 || len(c.Subscriptions) != 2 {
		t.Errorf("example has %d APIs, %d applications, %d subscriptions", len(c.APIs), len(c.Applications), len(c.Subscriptions))
	}
	if _, err := c.Router(); err != nil {
		t.Errorf("Router: %v", err)
	}
	if _, err := Load("../../examples/data.yaml", []string{"other"}); err == nil {
		t.Error("example loaded without its issuer demo configured")
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name     string
		validate func(string) error
		good     []string
		bad      map[string]string // value -> substring of the error
	}{
		{"name", ValidateName, []string{"shop-web", "a", "v1.2_x", strings.Repeat("n", 128)},
			map[string]string{"": `name ""`, "shop web": "must be 1-128", "-x": "must be", strings.Repeat("n", 129): "must be", "ä": "must be"}},
		{"client ID", ValidateClientID, []string{"abc", "my client", "a/b?c"},
			map[string]string{"": `client_id ""`, " c": "printable ASCII", "c\n": "printable ASCII", "c\x01": "printable ASCII"}},
		{"environment", ValidateEnvironment, []string{Production, Sandbox},
			map[string]string{"": `environment ""`, "staging": "production or sandbox", "Production": "production or sandbox"}},
		{"status", ValidateStatus, []string{Active, Blocked, ProdOnlyBlocked},
			map[string]string{"": `status ""`, "paused": "active, blocked or prod_only_blocked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, v := range tt.good {
				if err := tt.validate(v); err != nil {
					t.Errorf("%q: %v", v, err)
				}
			}
			for v, want := range tt.bad {
				if err := tt.validate(v); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%q: error %v, want one containing %q", v, err, want)
				}
			}
		})
	}
}
