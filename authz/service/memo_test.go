package service_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
)

// memoization is the part of the readiness details that says whether decisions are
// memoized.
func (h *harness) memoization(t *testing.T) (on bool, key, reason string) {
	t.Helper()
	res, err := http.Get("http://" + h.svc.DebugAddr() + service.DebugReadyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		State struct {
			Memoization struct {
				On     bool   `json:"on"`
				Key    string `json:"key"`
				Reason string `json:"reason"`
			} `json:"memoization"`
		} `json:"state"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	m := body.State.Memoization
	return m.On, m.Key, m.Reason
}

// In store mode a change through the admin API is in force for the next check, even
// when the decision it changes was memoized; the readiness details and the log say
// decisions are memoized, and each decision log line whether its decision was.
func TestMemoizedDecisionsFollowAdminChanges(t *testing.T) {
	h := startSTS(t)
	if on, key, _ := h.memoization(t); !on || !strings.Contains(key, "input.token.scopes") {
		t.Fatalf("readiness details: memoization on=%v key=%q; want on", on, key)
	}
	if !strings.Contains(h.logs.String(), `"msg":"decisions memoized"`) {
		t.Error("no log line says decisions are memoized")
	}
	req := request("GET", "/orders/7", bearer(h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil))...)
	for range 2 {
		if !allowed(h.check(t, req)) {
			t.Fatal("denied before the change")
		}
	}
	if !strings.Contains(h.logs.String(), `"memoized":true`) {
		t.Fatal("the second check was not memoized; the test proves nothing")
	}
	if code, err := h.adminCall("PUT", "/admin/v1/subscriptions/shop-web/orders", `{"status":"blocked"}`); err != nil || code != 200 {
		t.Fatalf("block: %d %v", code, err)
	}
	assertDenied(t, h.check(t, req), notSubscribed)
}

// A policy directory with a file that reads a header is not memoized, and the readiness
// details and the log say which file and line.
func TestNotMemoizedReported(t *testing.T) {
	policies := filepath.Join(t.TempDir(), "policies")
	copyPolicies(t, policies)
	writeFile(t, filepath.Join(policies, "env.rego"), "package tollgate.authz\n\n"+
		`deny contains "prod only" if input.attributes.request.http.headers["x-env"] != "prod"`+"\n")
	h := startWith(t, func(c *config.Config) { c.Policies = policies })
	on, _, reason := h.memoization(t)
	if on || !strings.Contains(reason, "env.rego:3 reads input.attributes.request.http.headers") {
		t.Errorf("readiness details: memoization on=%v reason=%q; want off, naming env.rego:3", on, reason)
	}
	if !strings.Contains(h.logs.String(), `"msg":"decisions not memoized; every check evaluates the policies"`) {
		t.Error("no log line says decisions are not memoized")
	}
	tok := h.asgardeoToken(t, "web-prod", "urn:acme:orders:read", nil)
	for range 2 {
		if !allowed(h.check(t, request("GET", "/orders/7", append(bearer(tok), "x-env", "prod")...))) {
			t.Error("x-env prod denied")
		}
		if allowed(h.check(t, request("GET", "/orders/7", append(bearer(tok), "x-env", "dev")...))) {
			t.Error("x-env dev allowed")
		}
	}
}
