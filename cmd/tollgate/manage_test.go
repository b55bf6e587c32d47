package main

import (
	"strings"
	"testing"
)

// TestManagementCommands runs every management verb against a running server, with
// the server and token resolved as the README says: --server, and the token file of
// --config.
func TestManagementCommands(t *testing.T) {
	q := startQuickstart(t)
	cli := func(want int, args ...string) string {
		t.Helper()
		args = append(args, "--config", q.config, "--server", "http://"+q.admin)
		code, out, stderr := runCmd(args...)
		if code != want {
			t.Fatalf("tollgate %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, out, stderr)
		}
		return out + stderr
	}
	contains := func(out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	contains(cli(exitOK, "app", "create", "ops"), "ops")
	contains(cli(exitDenied, "app", "create", "ops"), "409 conflict")
	contains(cli(exitOK, "app", "keys", "generate", "ops", "--env", "sandbox"), "sandbox", "tgs_")
	contains(cli(exitOK, "app", "bind", "ops", "--issuer", "demo", "--client-id", "ops-prod"), "demo:ops-prod (production)")
	contains(cli(exitDenied, "app", "bind", "shop-web", "--issuer", "demo", "--client-id", "ops-prod"), "409 conflict")
	contains(cli(exitOK, "app", "get", "ops"), "binding", "ops-prod", "key")
	contains(cli(exitOK, "app", "list"), "ops", "shop-web")
	contains(cli(exitOK, "app", "unbind", "ops", "--issuer", "demo", "--client-id", "ops-prod"), "unbound")
	contains(cli(exitOK, "app", "keys", "revoke", "ops", "--env", "sandbox"), "revoked")
	contains(cli(exitOK, "api", "create", "ledger", "--context", "/ledger", "--resource", "GET /ledger/{id} urn:acme:ledger:read",
		"--resource", "GET /ledger/health public"), "urn:acme:ledger:read", "(public)")
	contains(cli(exitOK, "api", "list"), "ledger", "/ledger")
	contains(cli(exitOK, "api", "get", "ledger", "-o", "json"), `"context": "/ledger"`)
	contains(cli(exitOK, "subscribe", "ops", "ledger"), "active")
	contains(cli(exitOK, "subscription", "block", "ops", "ledger"), "blocked")
	contains(cli(exitOK, "subscription", "block-production", "ops", "ledger"), "prod_only_blocked")
	contains(cli(exitOK, "subscription", "unblock", "ops", "ledger"), "active")
	contains(cli(exitOK, "subscription", "list", "--app", "ops"), "ops", "ledger")
	contains(cli(exitOK, "unsubscribe", "ops", "ledger"), "unsubscribed")
	contains(cli(exitDenied, "subscribe", "ops", "nowhere"), "404")
	contains(cli(exitOK, "api", "import", "../../examples/inventory.openapi.yaml"), "3 added")
	contains(cli(exitOK, "api", "import", "../../examples/inventory.openapi.yaml"), "0 added, 0 removed, 0 changed")
	contains(cli(exitOK, "api", "delete", "ledger"), "deleted")
	contains(cli(exitOK, "app", "delete", "ops"), "deleted")
	contains(cli(exitDenied, "app", "get", "ops"), "404")
	contains(cli(exitUsage, "app", "create"), "expected 1 argument")

	code, out, stderr := runCmd("app", "list", "--server", "http://"+q.admin, "--token", "wrong-token-0123456789")
	if code != exitDenied || !strings.Contains(stderr, "401") {
		t.Errorf("a wrong token: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = runCmd("export", "--config", q.config)
	if code != exitOK || !strings.Contains(out, "name: inventory") || strings.Contains(out, "issuer: tollgate") {
		t.Errorf("export: exit %d\n%s", code, out)
	}
}
