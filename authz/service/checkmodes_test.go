package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/httpcheck"
)

// outcome is a decision as any mode reports it: what the client or the upstream sees.
type outcome struct {
	Allowed  bool
	Status   int               // of a deny
	Error    string            // a deny's code
	WWW      string            // a deny's WWW-Authenticate
	Identity map[string]string // x-tollgate-* headers an allow sets for the upstream
}

// original is the request a client sent to the proxy; headers are name, value pairs,
// a name may repeat.
type original struct {
	method, path, host string
	headers            []string
}

// modes ask Tollgate about one original request, each as its proxy does.
func modes(h *harness) map[string]func(*testing.T, original) outcome {
	base := "http://" + h.svc.CheckAddr()
	return map[string]func(*testing.T, original) outcome{
		"grpc": func(t *testing.T, o original) outcome {
			req := request(o.method, o.path)
			hs := req.Attributes.Request.Http
			hs.Host, hs.Headers[":authority"] = o.host, o.host
			for i := 0; i+1 < len(o.headers); i += 2 {
				name := strings.ToLower(o.headers[i])
				if v, ok := hs.Headers[name]; ok {
					hs.Headers[name] = v + "," + o.headers[i+1]
					continue
				}
				hs.Headers[name] = o.headers[i+1]
			}
			return grpcOutcome(t, h.check(t, req))
		},
		"envoy http": func(t *testing.T, o original) outcome {
			r := newRequest(t, o.method, base+httpcheck.EnvoyPrefix+o.path, o)
			return httpOutcome(t, r, false)
		},
		"nginx": func(t *testing.T, o original) outcome {
			r := newRequest(t, "GET", base+httpcheck.NginxPath, o)
			r.Header.Set("X-Original-Method", o.method)
			r.Header.Set("X-Original-URI", o.path)
			return httpOutcome(t, r, true)
		},
		"forward": func(t *testing.T, o original) outcome {
			r := newRequest(t, "GET", base+httpcheck.ForwardPath, o)
			r.Host = "tollgate.internal"
			r.Header.Set("X-Forwarded-Method", o.method)
			r.Header.Set("X-Forwarded-Uri", o.path)
			r.Header.Set("X-Forwarded-Host", o.host)
			r.Header.Set("X-Forwarded-Proto", "https")
			return httpOutcome(t, r, false)
		},
	}
}

func newRequest(t *testing.T, method, url string, o original) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Host = o.host
	for i := 0; i+1 < len(o.headers); i += 2 {
		r.Header.Add(o.headers[i], o.headers[i+1])
	}
	return r
}

func grpcOutcome(t *testing.T, resp *authv3.CheckResponse) outcome {
	t.Helper()
	if ok := resp.GetOkResponse(); ok != nil {
		o := outcome{Allowed: true, Identity: map[string]string{}}
		for _, hv := range ok.GetHeaders() {
			o.Identity[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
		}
		return o
	}
	d := resp.GetDeniedResponse()
	o := outcome{Status: int(d.GetStatus().GetCode()), Error: bodyError(t, d.GetBody())}
	for _, hv := range d.GetHeaders() {
		if hv.GetHeader().GetKey() == "www-authenticate" {
			o.WWW = hv.GetHeader().GetValue()
		}
	}
	return o
}

// httpOutcome sends an HTTP check; nginx reads a deny's status and body from headers,
// as nginx.conf does.
func httpOutcome(t *testing.T, r *http.Request, nginx bool) outcome {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode == http.StatusOK {
		o := outcome{Allowed: true, Identity: map[string]string{}}
		for name := range res.Header {
			if name = strings.ToLower(name); strings.HasPrefix(name, "x-tollgate-") {
				o.Identity[name] = res.Header.Get(name)
			}
		}
		return o
	}
	o := outcome{Status: res.StatusCode, Error: bodyError(t, string(body)), WWW: res.Header.Get("WWW-Authenticate")}
	if nginx {
		if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusInternalServerError {
			t.Errorf("nginx endpoint answered %d: auth_request passes only 401 and 403 on, and 500 is Tollgate's own failure", res.StatusCode)
		}
		o.Status, _ = strconv.Atoi(res.Header.Get(httpcheck.StatusHeader))
		o.Error = bodyError(t, res.Header.Get(httpcheck.BodyHeader))
		if got := res.Header.Get(httpcheck.ErrorHeader); got != o.Error {
			t.Errorf("%s %q; the body says %q", httpcheck.ErrorHeader, got, o.Error)
		}
	}
	if res.Header.Get("X-Tollgate-Decision-Id") == "" {
		t.Error("a deny without X-Tollgate-Decision-Id")
	}
	return o
}

func bodyError(t *testing.T, body string) string {
	t.Helper()
	var b struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("deny body %q: %v", body, err)
	}
	return b.Error
}

// gRPC and the three HTTP modes decide the same requests the same way.
func TestCheckModesDecideAlike(t *testing.T) {
	h := start(t)
	read := "urn:acme:orders:read"
	web := "Bearer " + h.asgardeoToken(t, "web-prod", read, nil)
	expired := "Bearer " + h.asgardeoToken(t, "web-prod", read, jwt.MapClaims{"exp": 1})
	orders := map[string]string{"x-tollgate-api": "orders", "x-tollgate-application": "shop-web", "x-tollgate-client-id": "web-prod",
		"x-tollgate-issuer": "asgardeo", "x-tollgate-scopes": read, "x-tollgate-subject": "alice@acme.test"}
	tests := []struct {
		name string
		req  original
		want outcome
	}{
		{"allow", original{"GET", "/orders/42?expand=items", "api.acme.test", []string{"Authorization", web, "X-Tollgate-Application", "forged"}},
			outcome{Allowed: true, Identity: orders}},
		{"public resource", original{"GET", "/orders/docs/intro", "api.acme.test", []string{"X-Tollgate-Client-Id", "forged"}},
			outcome{Allowed: true, Identity: map[string]string{"x-tollgate-api": "orders"}}},
		{"host-bound API", original{"GET", "/inventory/sku-1", "inventory.acme.test", []string{"Authorization", web}},
			outcome{Status: 403, Error: "not_subscribed"}},
		{"host-bound API, other host", original{"GET", "/inventory/sku-1", "api.acme.test", []string{"Authorization", web}},
			outcome{Status: 404, Error: "no_matching_resource"}},
		{"two Authorization headers", original{"GET", "/orders/42", "api.acme.test", []string{"Authorization", web, "Authorization", web}},
			outcome{Status: 400, Error: "invalid_request", WWW: `Bearer error="invalid_request"`}},
		{"token in the query", original{"GET", "/orders/42?access_token=x", "api.acme.test", []string{"Authorization", web}},
			outcome{Status: 400, Error: "invalid_request", WWW: `Bearer error="invalid_request"`}},
		{"missing token", original{"GET", "/orders/42", "api.acme.test", nil},
			outcome{Status: 401, Error: "missing_token", WWW: `Bearer realm="tollgate"`}},
		{"invalid token", original{"GET", "/orders/42", "api.acme.test", []string{"Authorization", expired}},
			outcome{Status: 401, Error: "invalid_token", WWW: `Bearer error="invalid_token", error_description="the access token expired"`}},
		{"no matching resource", original{"DELETE", "/orders/42", "api.acme.test", []string{"Authorization", web}},
			outcome{Status: 404, Error: "no_matching_resource"}},
		{"unknown application", original{"GET", "/orders/42", "api.acme.test", []string{"Authorization", "Bearer " + h.asgardeoToken(t, "stranger", read, nil)}},
			outcome{Status: 403, Error: "unknown_application"}},
		{"not subscribed", original{"GET", "/orders/42", "api.acme.test", []string{"Authorization", "Bearer " + h.asgardeoToken(t, "lonely", read, nil)}},
			outcome{Status: 403, Error: "not_subscribed"}},
		{"insufficient scope", original{"POST", "/orders", "api.acme.test", []string{"Authorization", web}},
			outcome{Status: 403, Error: "insufficient_scope",
				WWW: `Bearer error="insufficient_scope", scope="urn:acme:orders:write urn:acme:orders:read"`}},
	}
	for name, ask := range modes(h) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				got := ask(t, tt.req)
				if tt.want.Identity == nil && got.Allowed {
					t.Fatalf("allowed with %v; want %d %s", got.Identity, tt.want.Status, tt.want.Error)
				}
				if !sameOutcome(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}
	}
}

func sameOutcome(a, b outcome) bool {
	if a.Allowed != b.Allowed || a.Status != b.Status || a.Error != b.Error || a.WWW != b.WWW || len(a.Identity) != len(b.Identity) {
		return false
	}
	for k, v := range a.Identity {
		if b.Identity[k] != v {
			return false
		}
	}
	return true
}

// An endpoint reads the original request from its own proxy's headers only: another
// proxy's, sent by a client, change nothing.
func TestCheckModesIgnoreOtherModesHeaders(t *testing.T) {
	h := start(t)
	base := "http://" + h.svc.CheckAddr()
	public := "/orders/docs/intro"
	forged := map[string]string{
		"X-Original-URI": public, "X-Original-Method": "GET",
		"X-Forwarded-Uri": public, "X-Forwarded-Method": "GET", "X-Forwarded-Host": "api.acme.test",
	}
	tests := []struct {
		name string
		url  string
		own  map[string]string // what the proxy sets for GET /orders/42, no token
	}{
		{"nginx", base + httpcheck.NginxPath, map[string]string{"X-Original-URI": "/orders/42", "X-Original-Method": "GET"}},
		{"forward", base + httpcheck.ForwardPath, map[string]string{"X-Forwarded-Uri": "/orders/42", "X-Forwarded-Method": "GET", "X-Forwarded-Host": "api.acme.test"}},
		{"envoy http", base + httpcheck.EnvoyPrefix + "/orders/42", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "GET", tt.url, original{host: "api.acme.test"})
			for k, v := range forged {
				r.Header.Set(k, v)
			}
			for k, v := range tt.own {
				r.Header.Set(k, v)
			}
			got := httpOutcome(t, r, tt.name == "nginx")
			if got.Allowed || got.Error != "missing_token" {
				t.Errorf("%+v; want the deny of GET /orders/42 without a token (missing_token)", got)
			}
		})
	}
}

// A check that does not say what to check is refused, never allowed; an Envoy check
// of a path Envoy would normalise is decided, not redirected.
func TestCheckEndpointsRefuseIncompleteChecks(t *testing.T) {
	h := start(t)
	base := "http://" + h.svc.CheckAddr()
	tests := []struct {
		name    string
		url     string
		headers map[string]string
		status  int
		want    string
	}{
		{"nginx without X-Original-URI", base + httpcheck.NginxPath, map[string]string{"X-Original-Method": "GET"}, 400, "X-Original-URI"},
		{"forward without X-Forwarded-Host", base + httpcheck.ForwardPath, map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/orders/1"}, 400, "X-Forwarded-Host"},
		{"forward with an absolute URI", base + httpcheck.ForwardPath, map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "http://evil/orders/1", "X-Forwarded-Host": "a"}, 400, "does not start with /"},
		{"nginx with a method that is not one", base + httpcheck.NginxPath, map[string]string{"X-Original-Method": "GET /x", "X-Original-URI": "/orders/1"}, 400, "not an HTTP method"},
		{"unknown endpoint", base + "/ext_authz/other", nil, 404, "check endpoints are"},
		{"envoy, confusing path refused", base + httpcheck.EnvoyPrefix + "/orders/x/../docs/a", nil, 400, "dot segment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "GET", tt.url, original{host: "api.acme.test"})
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Errorf("%d %s; want %d with %q", res.StatusCode, body, tt.status, tt.want)
			}
		})
	}
}

// Envoy's HTTP service learns which client-sent x-tollgate-* headers to remove.
func TestEnvoyHTTPRemovesClientIdentityHeaders(t *testing.T) {
	h := start(t)
	r := newRequest(t, "GET", "http://"+h.svc.CheckAddr()+httpcheck.EnvoyPrefix+"/orders/docs/intro",
		original{host: "api.acme.test", headers: []string{"X-Tollgate-Admin", "true", "X-Tollgate-Client-Id", "forged"}})
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	remove := strings.Split(res.Header.Get("x-envoy-auth-headers-to-remove"), ",")
	sort.Strings(remove)
	for _, name := range []string{"x-tollgate-admin", "x-tollgate-client-id", "x-tollgate-application"} {
		if i := sort.SearchStrings(remove, name); i == len(remove) || remove[i] != name {
			t.Errorf("x-envoy-auth-headers-to-remove %v lacks %s", remove, name)
		}
	}
}

// A policy that fails denies in every HTTP mode: 500, which nginx answers with 500 too
// (auth_request passes on only 401 and 403), never an allow.
func TestCheckModesPolicyError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "authz.rego"), `package tollgate.authz

decision := {"allowed": true, "headers": {"x-n": sprintf("%d", [to_number(input.attributes.request.http.headers["x-n"])])}}
`)
	h := startWith(t, func(c *config.Config) { c.Policies = dir })
	for name, ask := range modes(h) {
		t.Run(name, func(t *testing.T) {
			got := ask(t, original{"GET", "/orders/1", "api.acme.test", []string{"X-N", "not a number"}})
			if got.Allowed || got.Status != 500 || got.Error != "internal_error" {
				t.Errorf("%+v; want the deny 500 internal_error", got)
			}
		})
	}
}
