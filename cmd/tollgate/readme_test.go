package main

import (
	"os"
	"strings"
	"testing"
)

// readmeBlock returns the fenced block of README.md that follows the line lead.
func readmeBlock(t *testing.T, readme, lead string) string {
	t.Helper()
	_, rest, ok := strings.Cut(readme, lead+"\n\n```rego\n")
	if !ok {
		t.Fatalf("README.md has no rego block after %q", lead)
	}
	block, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("README.md: the block after %q does not end", lead)
	}
	return block + "\n"
}

// The worked example of "Writing policies" must hold: its deny rule refuses a write
// with a sandbox key, lets a read through, and --explain names it as the decider.
func TestReadmePolicyExample(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	shipped, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, map[string]string{
		"authz.rego":             string(shipped),
		"sandbox_read_only.rego": readmeBlock(t, readme, "`policies/sandbox_read_only.rego`:"),
	})
	tok := demoToken(t, "shop-web-sandbox", "urn:acme:orders:read urn:acme:orders:write")

	code, out, stderr := runCmd("check", "--config", cfg, "--method", "POST", "--path", "/orders",
		"--header", bearer(tok), "--explain")
	if code != exitDenied || !strings.Contains(out, "DENY 403\n  reason       access_denied\n  description  sandbox keys are read-only\n") {
		t.Fatalf("exit %d; want a deny by the example rule\n%s%s", code, out, stderr)
	}
	const decided = `sandbox_read_only.rego:4  deny  binding.environment == "sandbox"`
	if !strings.Contains(out, decided) || !strings.Contains(readme, "decided by\n  policies/"+decided+"\n") {
		t.Errorf("the example's deny rule is not what decided, in the output or in README.md:\n%s", out)
	}

	if code, out, stderr := runCmd("check", "--config", cfg, "--path", "/orders/7", "--header", bearer(tok)); code != exitOK {
		t.Errorf("a read with a sandbox key: exit %d; want an allow\n%s%s", code, out, stderr)
	}
}
