package authz

import (
	"testing"
)

// authorHeaders sets, beside an extra header of its own, copies of identity headers
// that differ from them only in case: the identity headers must win, every time.
const authorHeaders = `package tollgate.authz

extra_headers["X-Tollgate-Application"] := "forged-app"

extra_headers["X-TOLLGATE-CLIENT-ID"] := "forged-client"

extra_headers["x-Tollgate-Scopes"] := "admin"

extra_headers["X-Team"] := "orders"
`

// An author's header that differs from an identity header only in case never
// overrides it, whatever Go's map order: a hundred evaluations, none memoized, and the
// memoized decision all carry the identity headers.
func TestIdentityHeadersWinOverAuthorsCase(t *testing.T) {
	f := newMemoFixture(t, map[string]string{"headers.rego": authorHeaders})
	req := checkRequest("GET", "/orders/42", f.token(t, "shop-web-prod", "urn:acme:orders:read", nil))
	want := map[string]string{
		"x-tollgate-application": "shop-web",
		"x-tollgate-client-id":   "shop-web-prod",
		"x-tollgate-scopes":      "urn:acme:orders:read",
		"x-team":                 "orders",
	}
	for i := range 100 {
		e := f.reference(req)
		if e.Memoized || !e.Decision.Allowed {
			t.Fatalf("evaluation %d: memoized %v, allowed %v", i, e.Memoized, e.Decision.Allowed)
		}
		got := map[string]string{}
		for _, hv := range e.Response.GetOkResponse().GetHeaders() {
			got[hv.GetHeader().GetKey()] = hv.GetHeader().GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("evaluation %d: %s = %q; want %q (headers %v)", i, k, got[k], v, got)
			}
		}
	}
	first, second := f.check(req), f.check(req)
	if !second.Memoized || second.Decision.Headers["x-tollgate-application"] != "shop-web" {
		t.Errorf("memoized %v with %v; want the identity headers", second.Memoized, second.Decision.Headers)
	}
	if first.Decision.Headers["x-tollgate-application"] != "shop-web" {
		t.Errorf("first check: %v", first.Decision.Headers)
	}
}
