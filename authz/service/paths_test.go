package service_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/route/routetest"
)

// A path whose meaning depends on who normalises it is never decided as something
// else: every mode refuses it, before any route or token.
func TestConfusingPathsRefusedInEveryMode(t *testing.T) {
	h := start(t)
	web := "Bearer " + h.asgardeoToken(t, "web-prod", "urn:acme:orders:read urn:acme:orders:browse", nil)
	want := outcome{Status: 400, Error: "invalid_request", WWW: `Bearer error="invalid_request"`}
	if len(routetest.ConfusingPaths) < 30 {
		t.Fatalf("%d confusing paths; the table holds at least 30", len(routetest.ConfusingPaths))
	}
	for name, ask := range modes(h) {
		for _, p := range routetest.ConfusingPaths {
			for _, headers := range [][]string{nil, {"Authorization", web}} {
				got := ask(t, original{"GET", p, "api.acme.test", headers})
				if !sameOutcome(got, want) {
					t.Errorf("%s %q (token: %v): got %+v; want 400 invalid_request", name, p, headers != nil, got)
				}
			}
		}
	}
}

// limits.allow_encoded_slashes lets %2F stay inside a segment; the other confusing
// paths, and a dot segment hidden behind an encoded slash, are still refused.
func TestEncodedSlashesAllowed(t *testing.T) {
	h := startWith(t, func(c *config.Config) { c.Limits.AllowEncodedSlashes = true })
	web := "Bearer " + h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil)
	refused := outcome{Status: 400, Error: "invalid_request", WWW: `Bearer error="invalid_request"`}
	for name, ask := range modes(h) {
		got := ask(t, original{"GET", "/orders/acme%2F42", "api.acme.test", []string{"Authorization", web}})
		if !got.Allowed || got.Identity["x-tollgate-api"] != "orders" {
			t.Errorf("%s: /orders/acme%%2F42 got %+v; want allowed as GET /orders/{id}", name, got)
		}
		for _, p := range []string{"/orders/docs/..%2F42", "/orders/docs//../42", "/orders/docs/..%5C42"} {
			if got := ask(t, original{"GET", p, "api.acme.test", nil}); !sameOutcome(got, refused) {
				t.Errorf("%s %q: got %+v; want 400 invalid_request", name, p, got)
			}
		}
	}
	// The default refuses it.
	d := start(t)
	for name, ask := range modes(d) {
		if got := ask(t, original{"GET", "/orders/acme%2F42", "api.acme.test", []string{"Authorization", web}}); !sameOutcome(got, refused) {
			t.Errorf("default, %s: /orders/acme%%2F42 got %+v; want 400 invalid_request", name, got)
		}
	}
}

// hostAPIs are, beside the test data's, an API bound to a host and a public API on the
// same context for every other host: a host the binding misses falls back to the
// public one, so every spelling of the bound host must reach the bound API.
const hostAPIs = `  - name: admin
    context: /admin
    hosts: [admin.acme.test]
    resources:
      - {method: GET, path: "/admin/*", scopes: ["urn:acme:admin"]}
  - name: admin-public
    context: /admin
    resources:
      - {method: GET, path: "/admin/*", auth: none}
`

// Hosts are compared in one canonical form in every mode; a host that is neither a
// name nor an address is refused.
func TestHostVariants(t *testing.T) {
	h := startWith(t, func(c *config.Config) {
		c.Data = filepath.Join(t.TempDir(), "data.yaml")
		if err := os.WriteFile(c.Data, []byte(strings.Replace(testData, "applications:\n", hostAPIs+"applications:\n", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	bound := outcome{Status: 401, Error: "missing_token", WWW: `Bearer realm="tollgate"`}
	public := outcome{Allowed: true, Identity: map[string]string{"x-tollgate-api": "admin-public"}}
	refused := outcome{Status: 400, Error: "invalid_request", WWW: `Bearer error="invalid_request"`}
	tests := []struct {
		host string
		want outcome
		// grpcAndForward: Go's HTTP client will not send this Host header itself, so
		// only the modes that read the host from a field or X-Forwarded-Host try it.
		grpcAndForward bool
	}{
		{"admin.acme.test", bound, false},
		{"admin.acme.test.", bound, false},
		{"ADMIN.Acme.Test", bound, false},
		{"admin.acme.test:443", bound, false},
		{"Admin.Acme.Test.:8443", bound, false},
		{"www.acme.test", public, false},
		{"admin.acme.test..", refused, false},
		{"admin.acme.test:http", refused, false},
		{"admin.acme.test:99999", refused, false},
		{"user@admin.acme.test", refused, true},
		{"admin acme.test", refused, true},
		{"[::1", refused, true},
		{"[fe80::1%25eth0]", refused, true},
	}
	for name, ask := range modes(h) {
		for _, tt := range tests {
			if tt.grpcAndForward && name != "grpc" && name != "forward" {
				continue
			}
			got := ask(t, original{"GET", "/admin/users", tt.host, nil})
			if !sameOutcome(got, tt.want) {
				t.Errorf("%s, host %q: got %+v; want %+v", name, tt.host, got, tt.want)
			}
		}
	}
}
