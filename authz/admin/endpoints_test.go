package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// endpointTest is one request to a fresh fixture and what must be answered.
type endpointTest struct {
	name   string
	setup  func(f *fixture) // runs before the request, if set
	method string
	path   string
	body   string
	status int
	// code is the error code of an error answer.
	code string
	// want are substrings of the body.
	want []string
	// allow is the Allow header of a 405.
	allow string
}

func runEndpointTests(t *testing.T, tests []endpointTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			if tt.setup != nil {
				tt.setup(f)
			}
			r := f.do(tt.method, tt.path, tt.body)
			checkResponse(t, r, tt)
		})
	}
}

func checkResponse(t *testing.T, r response, tt endpointTest) {
	t.Helper()
	if r.status != tt.status {
		t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if r.status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Errorf("204 with a body: %s", r.body)
		}
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !json.Valid(r.body) {
		t.Fatalf("body is not JSON: %s", r.body)
	}
	if tt.code != "" {
		checkError(t, r.body, tt.code)
	}
	for _, w := range tt.want {
		if !strings.Contains(string(r.body), w) {
			t.Errorf("body %s does not contain %s", r.body, w)
		}
	}
	if got := r.header.Get("Allow"); got != tt.allow {
		t.Errorf("Allow %q, want %q", got, tt.allow)
	}
}

// checkError checks an error body: exactly error and a non-empty error_description.
func checkError(t *testing.T, body []byte, code string) {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if e["error"] != code || e["error_description"] == "" || len(e) != 2 {
		t.Errorf("error body %s, want error %q and a description", body, code)
	}
}

func bigBody(field string, size int) string {
	return `{"` + field + `":"` + strings.Repeat("a", size) + `"}`
}

func TestApplicationEndpoints(t *testing.T) {
	const apps = "/admin/v1/applications"
	runEndpointTests(t, []endpointTest{
		{name: "list", method: "GET", path: apps, status: 200,
			want: []string{`{"items":[{"name":"idle","client_ids":[],"keys":[]},{"name":"reporting"`,
				`{"name":"shop-web","client_ids":[{"issuer":"asgardeo","client_id":"shop-web-sandbox","environment":"sandbox"},{"issuer":"demo","client_id":"shop-web-prod","environment":"production"}],"keys":[]}]}`}},
		{name: "list with limit", method: "GET", path: apps + "?limit=1", status: 200, want: []string{`"next_page_token":"`}},
		{name: "list limit 0", method: "GET", path: apps + "?limit=0", status: 400, code: "invalid_request", want: []string{"limit"}},
		{name: "list limit 1001", method: "GET", path: apps + "?limit=1001", status: 400, code: "invalid_request"},
		{name: "list limit not a number", method: "GET", path: apps + "?limit=ten", status: 400, code: "invalid_request"},
		{name: "list bad page token", method: "GET", path: apps + "?page_token=%21%21", status: 400, code: "invalid_request", want: []string{"page_token"}},
		{name: "create", method: "POST", path: apps, body: `{"name":"new-app"}`, status: 201,
			want: []string{`{"name":"new-app","client_ids":[],"keys":[]}`}},
		{name: "create existing", method: "POST", path: apps, body: `{"name":"idle"}`, status: 409, code: "conflict", want: []string{"exists"}},
		{name: "create bad name", method: "POST", path: apps, body: `{"name":"my app"}`, status: 400, code: "invalid_request", want: []string{`name \"my app\" must be`}},
		{name: "create unknown field", method: "POST", path: apps, body: `{"name":"a","owner":"x"}`, status: 400, code: "invalid_request", want: []string{`unknown field \"owner\"`}},
		{name: "create wrong type", method: "POST", path: apps, body: `{"name":7}`, status: 400, code: "invalid_request", want: []string{`field \"name\"`}},
		{name: "create array", method: "POST", path: apps, body: `[]`, status: 400, code: "invalid_request", want: []string{"JSON object"}},
		{name: "create bad JSON", method: "POST", path: apps, body: `{"name":`, status: 400, code: "invalid_request"},
		{name: "create two documents", method: "POST", path: apps, body: `{"name":"a"} {"name":"b"}`, status: 400, code: "invalid_request", want: []string{"one JSON object"}},
		{name: "create empty body", method: "POST", path: apps, status: 400, code: "invalid_request", want: []string{"empty"}},
		{name: "create body over 1 MiB", method: "POST", path: apps, body: bigBody("name", 1<<20), status: 400, code: "invalid_request", want: []string{"larger than 1 MiB"}},
		{name: "get", method: "GET", path: apps + "/shop-web", status: 200, want: []string{`"name":"shop-web"`, `"client_id":"shop-web-prod"`}},
		{name: "get missing", method: "GET", path: apps + "/nope", status: 404, code: "not_found", want: []string{`application \"nope\" does not exist`}},
		{name: "get bad name", method: "GET", path: apps + "/a%20b", status: 400, code: "invalid_request"},
		{name: "delete", method: "DELETE", path: apps + "/idle", status: 204},
		{name: "delete missing", method: "DELETE", path: apps + "/nope", status: 404, code: "not_found"},
		{name: "patch", method: "PATCH", path: apps + "/idle", status: 405, code: "method_not_allowed", allow: "GET, HEAD, DELETE"},
		{name: "delete the list", method: "DELETE", path: apps, status: 405, code: "method_not_allowed", allow: "GET, HEAD, POST"},
	})
}

func TestKeyEndpoints(t *testing.T) {
	const keys = "/admin/v1/applications/shop-web/keys"
	withKey := func(f *fixture) { f.must(201, "POST", keys, `{"environment":"sandbox"}`, nil) }
	runEndpointTests(t, []endpointTest{
		{name: "create", method: "POST", path: keys, body: `{"environment":"production"}`, status: 201,
			want: []string{`"application":"shop-web","environment":"production","client_id":"`, `"client_secret":"tgs_`}},
		{name: "create bad environment", method: "POST", path: keys, body: `{"environment":"staging"}`, status: 400, code: "invalid_request", want: []string{"staging"}},
		{name: "create no environment", method: "POST", path: keys, body: `{}`, status: 400, code: "invalid_request"},
		{name: "create for missing application", method: "POST", path: "/admin/v1/applications/nope/keys", body: `{"environment":"sandbox"}`, status: 404, code: "not_found"},
		{name: "list", setup: withKey, method: "GET", path: keys, status: 200, want: []string{`{"items":[{"client_id":"`, `"environment":"sandbox","created_at":"20`}},
		{name: "list none", method: "GET", path: keys, status: 200, want: []string{`{"items":[]}`}},
		{name: "list of missing application", method: "GET", path: "/admin/v1/applications/nope/keys", status: 404, code: "not_found"},
		{name: "delete", setup: withKey, method: "DELETE", path: keys + "/sandbox", status: 204},
		{name: "delete missing", setup: withKey, method: "DELETE", path: keys + "/production", status: 404, code: "not_found"},
		{name: "delete bad environment", method: "DELETE", path: keys + "/staging", status: 400, code: "invalid_request"},
		{name: "get one", method: "GET", path: keys + "/sandbox", status: 405, code: "method_not_allowed", allow: "DELETE"},
	})
}

func TestBindingEndpoints(t *testing.T) {
	const bindings = "/admin/v1/applications/reporting/bindings"
	runEndpointTests(t, []endpointTest{
		{name: "create", method: "POST", path: bindings, body: `{"issuer":"demo","client_id":"rep","environment":"production"}`, status: 201,
			want: []string{`{"name":"reporting","client_ids":[{"issuer":"demo","client_id":"rep","environment":"production"}],"keys":[]}`}},
		{name: "create again elsewhere", method: "POST", path: bindings, body: `{"issuer":"demo","client_id":"shop-web-prod","environment":"production"}`,
			status: 409, code: "conflict", want: []string{`bound to application \"shop-web\"`}},
		{name: "same client ID at another issuer", method: "POST", path: bindings, body: `{"issuer":"asgardeo","client_id":"shop-web-prod","environment":"sandbox"}`, status: 201},
		{name: "unknown issuer", method: "POST", path: bindings, body: `{"issuer":"okta","client_id":"c","environment":"production"}`,
			status: 400, code: "invalid_request", want: []string{`\"okta\"`, "configured: asgardeo, demo"}},
		{name: "sts issuer", method: "POST", path: bindings, body: `{"issuer":"tollgate","client_id":"c","environment":"production"}`,
			status: 400, code: "invalid_request", want: []string{"keys"}},
		{name: "bad client ID", method: "POST", path: bindings, body: `{"issuer":"demo","client_id":" c","environment":"production"}`, status: 400, code: "invalid_request"},
		{name: "bad environment", method: "POST", path: bindings, body: `{"issuer":"demo","client_id":"c","environment":"prod"}`, status: 400, code: "invalid_request"},
		{name: "missing application", method: "POST", path: "/admin/v1/applications/nope/bindings", body: `{"issuer":"demo","client_id":"c","environment":"production"}`, status: 404, code: "not_found"},
		{name: "delete", method: "DELETE", path: "/admin/v1/applications/shop-web/bindings/demo/shop-web-prod", status: 204},
		{name: "delete another application's", method: "DELETE", path: bindings + "/demo/shop-web-prod", status: 404, code: "not_found"},
		{name: "delete missing", method: "DELETE", path: "/admin/v1/applications/shop-web/bindings/demo/nope", status: 404, code: "not_found"},
		{name: "delete of missing application", method: "DELETE", path: "/admin/v1/applications/nope/bindings/demo/x", status: 404, code: "not_found"},
		{name: "delete a key", method: "DELETE", path: "/admin/v1/applications/shop-web/bindings/tollgate/x", status: 404, code: "not_found", want: []string{"keys"}},
		{name: "list", method: "GET", path: bindings, status: 405, code: "method_not_allowed", allow: "POST"},
	})
}

const ordersV2 = `{"name":"orders-v2","context":"/v2/orders","resources":[{"method":"GET","path":"/v2/orders/{id}","scopes":["urn:acme:orders:read"]}]}`

func TestAPIEndpoints(t *testing.T) {
	const apis = "/admin/v1/apis"
	runEndpointTests(t, []endpointTest{
		{name: "list", method: "GET", path: apis, status: 200, want: []string{
			`{"items":[{"name":"orders","context":"/orders","hosts":[],"resources":[{"method":"GET","path":"/orders/{id}","scopes":["urn:acme:orders:read"],"auth":"required"},`,
			`{"method":"GET","path":"/payments/docs/*","scopes":[],"auth":"none"}`}},
		{name: "create", method: "POST", path: apis, body: ordersV2, status: 201,
			want: []string{`"name":"orders-v2"`, `"hosts":[]`, `"auth":"required"`}},
		{name: "create existing", method: "POST", path: apis, body: strings.Replace(ordersV2, "orders-v2", "orders", 1), status: 409, code: "conflict", want: []string{"exists"}},
		{name: "create on another's context", method: "POST", path: apis,
			body: `{"name":"orders2","context":"/orders","resources":[{"method":"GET","path":"/orders"}]}`, status: 409, code: "conflict", want: []string{"inconsistent"}},
		{name: "create without resources", method: "POST", path: apis, body: `{"name":"x","context":"/x","resources":[]}`, status: 400, code: "invalid_request", want: []string{"no resources"}},
		{name: "create bad scope", method: "POST", path: apis,
			body: `{"name":"x","context":"/x","resources":[{"method":"GET","path":"/x","scopes":["a b"]}]}`, status: 400, code: "invalid_request", want: []string{"scope"}},
		{name: "create resource outside context", method: "POST", path: apis,
			body: `{"name":"x","context":"/x","resources":[{"method":"GET","path":"/y"}]}`, status: 400, code: "invalid_request"},
		{name: "create bad name", method: "POST", path: apis, body: strings.Replace(ordersV2, "orders-v2", "orders v2", 1), status: 400, code: "invalid_request"},
		{name: "create unknown field", method: "POST", path: apis,
			body: `{"name":"x","context":"/x","resources":[{"method":"GET","path":"/x","scope":["a"]}]}`, status: 400, code: "invalid_request", want: []string{`\"scope\"`}},
		{name: "get", method: "GET", path: apis + "/payments", status: 200, want: []string{`"hosts":["pay.example.com"]`}},
		{name: "get missing", method: "GET", path: apis + "/nope", status: 404, code: "not_found"},
		{name: "get bad name", method: "GET", path: apis + "/..x", status: 400, code: "invalid_request"},
		{name: "put new", method: "PUT", path: apis + "/orders-v2", body: ordersV2, status: 201},
		{name: "put new without name", method: "PUT", path: apis + "/orders-v2", body: strings.Replace(ordersV2, `"name":"orders-v2",`, "", 1), status: 201,
			want: []string{`"name":"orders-v2"`}},
		{name: "put existing", method: "PUT", path: apis + "/orders",
			body: `{"context":"/orders","resources":[{"method":"GET","path":"/orders"}]}`, status: 200, want: []string{`"resources":[{"method":"GET","path":"/orders","scopes":[],"auth":"required"}]`}},
		{name: "put other name", method: "PUT", path: apis + "/orders", body: ordersV2, status: 400, code: "invalid_request", want: []string{"orders-v2"}},
		{name: "put on another's context", method: "PUT", path: apis + "/payments",
			body: `{"context":"/orders","resources":[{"method":"GET","path":"/orders"}]}`, status: 409, code: "conflict"},
		{name: "delete", method: "DELETE", path: apis + "/orders", status: 204},
		{name: "delete missing", method: "DELETE", path: apis + "/nope", status: 404, code: "not_found"},
		{name: "import without importer", method: "POST", path: apis + "/import?name=x", body: "openapi: 3.1.0", status: 501, code: "not_implemented"},
		{name: "get import", method: "GET", path: apis + "/import", status: 404, code: "not_found"},
		{name: "post to an API", method: "POST", path: apis + "/orders", status: 405, code: "method_not_allowed", allow: "GET, HEAD, PUT, DELETE"},
	})
}

func TestSubscriptionEndpoints(t *testing.T) {
	const subs = "/admin/v1/subscriptions"
	runEndpointTests(t, []endpointTest{
		{name: "list", method: "GET", path: subs, status: 200, want: []string{
			`{"items":[{"application":"reporting","api":"orders","status":"prod_only_blocked"},{"application":"shop-web","api":"orders","status":"active"},{"application":"shop-web","api":"payments","status":"blocked"}]}`}},
		{name: "list of an application", method: "GET", path: subs + "?application=shop-web", status: 200,
			want: []string{`{"items":[{"application":"shop-web","api":"orders","status":"active"},{"application":"shop-web","api":"payments","status":"blocked"}]}`}},
		{name: "list of an API", method: "GET", path: subs + "?api=orders&application=reporting", status: 200,
			want: []string{`{"items":[{"application":"reporting","api":"orders","status":"prod_only_blocked"}]}`}},
		{name: "list of nothing", method: "GET", path: subs + "?application=nope", status: 200, want: []string{`{"items":[]}`}},
		{name: "list bad filter", method: "GET", path: subs + "?api=a%20b", status: 400, code: "invalid_request"},
		{name: "get", method: "GET", path: subs + "/shop-web/payments", status: 200, want: []string{`{"application":"shop-web","api":"payments","status":"blocked"}`}},
		{name: "get missing", method: "GET", path: subs + "/idle/orders", status: 404, code: "not_found"},
		{name: "put new", method: "PUT", path: subs + "/idle/orders", body: `{"status":"blocked"}`, status: 201,
			want: []string{`{"application":"idle","api":"orders","status":"blocked"}`}},
		{name: "put new, empty body", method: "PUT", path: subs + "/idle/orders", status: 201, want: []string{`"status":"active"`}},
		{name: "put new, no status", method: "PUT", path: subs + "/idle/orders", body: `{}`, status: 201, want: []string{`"status":"active"`}},
		{name: "put existing", method: "PUT", path: subs + "/shop-web/orders", body: `{"status":"prod_only_blocked"}`, status: 200},
		{name: "put unchanged", method: "PUT", path: subs + "/shop-web/orders", body: `{"status":"active"}`, status: 200},
		{name: "put bad status", method: "PUT", path: subs + "/idle/orders", body: `{"status":"paused"}`, status: 400, code: "invalid_request", want: []string{"paused"}},
		{name: "put missing application", method: "PUT", path: subs + "/nope/orders", body: `{}`, status: 404, code: "not_found", want: []string{"application"}},
		{name: "put missing API", method: "PUT", path: subs + "/idle/nope", body: `{}`, status: 404, code: "not_found", want: []string{"API"}},
		{name: "delete", method: "DELETE", path: subs + "/shop-web/orders", status: 204},
		{name: "delete missing", method: "DELETE", path: subs + "/idle/orders", status: 404, code: "not_found"},
		{name: "post", method: "POST", path: subs, status: 405, code: "method_not_allowed", allow: "GET, HEAD"},
	})
}

func TestOtherEndpoints(t *testing.T) {
	runEndpointTests(t, []endpointTest{
		{name: "export", method: "GET", path: "/admin/v1/export", status: 200, want: []string{`{"apis":[{"name":"orders"`, `"applications":[{"name":"idle","client_ids":[]}`, `"subscriptions":[{"application":"reporting"`}},
		{name: "post export", method: "POST", path: "/admin/v1/export", status: 405, code: "method_not_allowed", allow: "GET, HEAD"},
		{name: "unknown path", method: "GET", path: "/admin/v1/plans", status: 404, code: "not_found"},
		{name: "outside the API", method: "GET", path: "/", status: 404, code: "not_found"},
		{name: "too deep", method: "GET", path: "/admin/v1/applications/a/b/c/d/e/f", status: 404, code: "not_found"},
	})
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t, nil)
	headers := map[string]map[string]string{
		"no token":          nil,
		"wrong token":       {"Authorization": "Bearer " + adminToken + "x"},
		"prefix of token":   {"Authorization": "Bearer " + adminToken[:4]},
		"empty token":       {"Authorization": "Bearer "},
		"basic":             {"Authorization": "Basic " + adminToken},
		"token only":        {"Authorization": adminToken},
		"token in a cookie": {"Cookie": "token=" + adminToken},
	}
	for name, h := range headers {
		for _, rt := range f.h.routes() {
			if rt.path == openAPIPath {
				continue
			}
			path := strings.NewReplacer("{app}", "shop-web", "{api}", "orders", "{environment}", "sandbox", "{issuer}", "demo", "{client_id}", "x").Replace(rt.path)
			r := f.doWith(h, rt.method, path, `{"name":"x"}`)
			checkUnauthorized(t, name+" "+rt.method+" "+path, r)
		}
		checkUnauthorized(t, name+" unknown path", f.doWith(h, "GET", "/admin/v1/nope", ""))
	}
	if r := f.doWith(map[string]string{"Authorization": "bearer " + adminToken}, "GET", "/admin/v1/export", ""); r.status != 200 {
		t.Errorf("scheme in lower case: status %d, want 200", r.status)
	}
	if strings.Contains(f.log.String(), adminToken) {
		t.Error("the log holds the admin token")
	}
	if v := version(t, f); v != 1 {
		t.Errorf("refused requests changed the store: version %d", v)
	}
}

func TestNoTokenConfiguredRefusesEverything(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Token = "" })
	for name, h := range map[string]map[string]string{
		"no header":    nil,
		"empty bearer": {"Authorization": "Bearer "},
		"some token":   {"Authorization": "Bearer " + adminToken},
	} {
		checkUnauthorized(t, name, f.doWith(h, "GET", "/admin/v1/applications", ""))
	}
	if r := f.doWith(nil, "GET", openAPIPath, ""); r.status != 200 {
		t.Errorf("openapi.json: status %d, want 200 without a token", r.status)
	}
}

func checkUnauthorized(t *testing.T, name string, r response) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Errorf("%s: status %d, want 401", name, r.status)
		return
	}
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="tollgate-admin"` {
		t.Errorf("%s: WWW-Authenticate %q", name, got)
	}
	checkError(t, r.body, "unauthorized")
}

func version(t *testing.T, f *fixture) int64 {
	t.Helper()
	v, err := f.store.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
