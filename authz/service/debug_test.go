package service_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

// debugModes starts Tollgate with the debug listener on, in data mode and in store mode.
var debugModes = []struct {
	name  string
	start func(t *testing.T, edit func(*config.Config)) *harness
}{
	{"data mode", startWith},
	{"store mode", func(t *testing.T, edit func(*config.Config)) *harness { return startSTSWith(t, edit).harness }},
}

// /readyz shares its listener with the STS, so anyone may read it: it says ready or
// not, per part and overall, and when the last reload ran and whether it succeeded,
// but none of what the readiness details hold: the policy files, the data file or
// store path, the issuers' names, key sources and fetch errors, the reload's error.
func TestPublicReadyzHidesDetails(t *testing.T) {
	for _, mode := range debugModes {
		t.Run(mode.name, func(t *testing.T) {
			policies := filepath.Join(t.TempDir(), "policies-private")
			copyPolicies(t, policies)
			partner := tokentest.NewJWKS(t, tokentest.NewRSAKey(t, "partner-1"))
			jwksURI := partner.Server.URL + "/tenants/acme-private-tenant/jwks"
			h := mode.start(t, func(c *config.Config) {
				c.Policies = policies
				is := config.Issuer{Name: "partner-acme", Issuer: "https://partner.acme.test", JWKSURI: jwksURI}
				is.ApplyDefaults()
				c.Issuers = append(c.Issuers, is)
			})

			// The partner's JWKS goes down; a token with a kid it has not published
			// makes Tollgate fetch it again, and fail.
			partner.SetResponse(http.StatusServiceUnavailable, []byte("down"))
			tok := tokentest.NewRSAKey(t, "partner-2").Sign(t, tokentest.Claims("https://partner.acme.test", jwt.MapClaims{"client_id": "x"}), nil)
			h.check(t, request("GET", "/orders/1", bearer(tok)...))
			waitFor(t, func() bool { return h.details(t).Issuers[2].LastError != "" })
			// A policy that does not compile: the reload is refused, naming the file.
			writeFile(t, filepath.Join(policies, "broken-private.rego"), "package tollgate.authz\n\ndeny contains \"x\" if {\n")
			if err := h.svc.Reload("test"); err == nil {
				t.Fatal("a reload with a broken policy succeeded")
			}

			d := h.details(t)
			if d.LastReload == nil || d.LastReload.OK || !strings.Contains(d.LastReload.Error, "broken-private.rego") {
				t.Fatalf("readiness details: last reload %+v; want refused, naming broken-private.rego", d.LastReload)
			}
			hidden := []string{
				h.dir,                                                        // the data file, or the store
				policies, "authz.rego", "broken-private", "rego_parse_error", // the reload's error
				"acme-private-tenant", partner.Server.URL, h.asgJWKS.URL(), d.Issuers[2].LastError,
				"partner-acme", "asgardeo", "memoization",
			}
			for _, s := range hidden {
				if !strings.Contains(d.raw, s) {
					t.Errorf("the readiness details lack %q; the test proves nothing:\n%s", s, d.raw)
				}
			}

			_, raw := fetch(t, "http://"+h.svc.HTTPAddr()+"/readyz")
			for _, s := range hidden {
				if strings.Contains(raw, s) {
					t.Errorf("/readyz shows %q:\n%s", s, raw)
				}
			}
			p := h.readyz(t)
			if p.code != http.StatusOK || p.Status != "ready" || p.Reason != "" || p.Policies != "ready" || p.Data != "ready" ||
				p.Issuers.Ready != len(d.Issuers) || p.Issuers.NotReady != 0 ||
				p.LastReload == nil || p.LastReload.OK || p.LastReload.At.IsZero() {
				t.Errorf("/readyz = %d %s; want 200, every part ready, the last reload refused", p.code, p.raw)
			}
		})
	}
}

// The debug listener serves the readiness details and Go's profiles, in data mode as
// in store mode, and the public HTTP listener serves neither.
func TestDebugListener(t *testing.T) {
	paths := []struct {
		path string
		want string // in the body
	}{
		{service.DebugReadyPath, `"memoization"`},
		{"/debug/pprof/", "goroutine"},
		{"/debug/pprof/heap?debug=1", "heap profile"},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile"},
		{"/debug/pprof/allocs?debug=1", "heap profile"},
		{"/debug/pprof/cmdline", ".test"},
		{"/debug/pprof/symbol", "num_symbols"},
		{"/debug/pprof/profile?seconds=1", ""},
		{"/debug/pprof/trace?seconds=1", ""},
	}
	for _, mode := range debugModes {
		t.Run(mode.name, func(t *testing.T) {
			h := mode.start(t, nil)
			for _, p := range paths {
				code, body := fetch(t, "http://"+h.svc.DebugAddr()+p.path)
				if code != http.StatusOK || !strings.Contains(body, p.want) {
					t.Errorf("debug listener GET %s = %d, body without %q:\n%.300s", p.path, code, p.want, body)
				}
				if code, _ := fetch(t, "http://"+h.svc.HTTPAddr()+p.path); code != http.StatusNotFound {
					t.Errorf("HTTP listener GET %s = %d; want 404", p.path, code)
				}
			}
		})
	}
}

// Without debug.address there is no debug listener.
func TestDebugListenerOffByDefault(t *testing.T) {
	h := startUnready(t, func(c *config.Config) { c.Debug = config.Default().Debug })
	waitFor(t, func() bool { return h.readyz(t).code == http.StatusOK })
	if addr := h.svc.DebugAddr(); addr != "" {
		t.Errorf("DebugAddr = %q; want none", addr)
	}
	if strings.Contains(h.logs.String(), "debug listener serving") {
		t.Error("the log says a debug listener serves")
	}
}

// debug.address applies after a restart, as the other listeners' addresses do.
func TestReloadDebugChangeNeedsRestart(t *testing.T) {
	h, path := startFromFile(t, nil)
	before := h.svc.DebugAddr()
	writeFile(t, path, strings.Replace(h.configYAML(""), `debug: {address: "127.0.0.1:0"}`, `debug: {address: "127.0.0.1:1"}`, 1))
	waitFor(t, func() bool { return strings.Contains(h.logs.String(), `"key":"debug"`) })
	if code, _ := fetch(t, "http://"+before+service.DebugReadyPath); code != http.StatusOK || h.svc.DebugAddr() != before {
		t.Errorf("after the reload the debug listener moved from %s to %s, or stopped (%d)", before, h.svc.DebugAddr(), code)
	}
}

// fetch GETs url and returns the status code and the body.
func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}
