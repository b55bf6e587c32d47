package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/token/tokentest"
)

const exampleConfig = "../../examples/gitops.yaml"

// demoToken mints a token of the quickstart's demo issuer, as the README does.
func demoToken(t *testing.T, clientID, scope string) string {
	t.Helper()
	code, out, stderr := runCmd("token", "--sign-with", demoKey, "--kid", "demo-1", "--issuer", demoIssuer,
		"--client-id", clientID, "--scope", scope, "--aud", "api://acme")
	if code != exitOK {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	return strings.TrimSpace(out)
}

// expiredToken mints a demo token that expired an hour ago, well past the leeway.
func expiredToken(t *testing.T) string {
	t.Helper()
	f := tokenFlags{key: demoKey, kid: "demo-1", typ: "at+jwt", issuer: demoIssuer, clientID: "shop-web-prod",
		scope: "urn:acme:orders:read", ttl: time.Hour}
	tok, err := f.mint(time.Now().Add(-2 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// forged returns tok with its signature altered.
func forged(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func bearer(tok string) string { return "authorization: Bearer " + tok }

// checkConfig runs `tollgate check --config` with the quickstart configuration.
func checkConfig(args ...string) (code int, stdout, stderr string) {
	return runCmd(append([]string{"check", "--config", exampleConfig}, args...)...)
}

func TestCheckConfig(t *testing.T) {
	read := demoToken(t, "shop-web-prod", "urn:acme:orders:read")
	payments := demoToken(t, "shop-web-prod", "urn:acme:payments:read")
	reporting := demoToken(t, "reporting-prod", "urn:acme:orders:read")
	stranger := demoToken(t, "stranger", "urn:acme:orders:read")
	expired := expiredToken(t)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"allow", []string{"--path", "/orders/7", "--host", "api.acme.test", "--header", bearer(read)}, exitOK, []string{
			"ALLOW\n", "reason       allowed", "api          orders", "resource     GET /orders/{id}", "params       id=7",
			"application  shop-web", "set     x-tollgate-application: shop-web", "set     x-tollgate-client-id: shop-web-prod",
			"set     x-tollgate-scopes: urn:acme:orders:read", "issuer       demo", "iss          " + demoIssuer,
			"subject      shop-web-prod", "client_id    shop-web-prod", "scopes       urn:acme:orders:read",
			"audience     api://acme", "expires_at   20",
		}},
		{"allow public", []string{"--path", "/orders/docs/intro", "--header", bearer(read)}, exitOK, []string{
			"ALLOW\n", "params       *=intro", "application  none", "set     x-tollgate-api: orders",
			"remove  x-tollgate-client-id", "token not verified: the resource is public",
		}},
		{"no matching resource", []string{"--path", "/nowhere", "--header", bearer(read)}, exitDenied, []string{
			"DENY 404\n", "reason       no_matching_resource", "api          none", "resource     none",
			"token not verified: no resource matched",
		}},
		{"missing token", []string{"--path", "/orders/7"}, exitDenied, []string{
			"DENY 401\n", "reason       missing_token", `www-authenticate: Bearer realm="tollgate"`,
			`body: {"error":"missing_token"`, "token none",
		}},
		{"expired token", []string{"--path", "/orders/7", "--header", bearer(expired)}, exitDenied, []string{
			"DENY 401\n", "reason       invalid_token", "description  the access token expired", "token refused",
			"reason       token_expired", `www-authenticate: Bearer error="invalid_token"`,
		}},
		{"bad signature", []string{"--path", "/orders/7", "--header", bearer(forged(read))}, exitDenied, []string{
			"DENY 401\n", "reason       invalid_token", "reason       bad_signature",
		}},
		{"token in query", []string{"--path", "/orders/7?access_token=" + read}, exitDenied, []string{
			"DENY 400\n", "reason       invalid_request", "reason       token_in_query",
			`www-authenticate: Bearer error="invalid_request"`,
		}},
		{"two credentials", []string{"--path", "/orders/7?access_token=x", "--header", bearer(read)}, exitDenied, []string{
			"DENY 400\n", "reason       invalid_request", "reason       multiple_credentials",
		}},
		{"unknown application", []string{"--path", "/orders/7", "--header", bearer(stranger)}, exitDenied, []string{
			"DENY 403\n", "reason       unknown_application", `client ID "stranger" of issuer "demo"`,
			"application  none", "client_id    stranger",
		}},
		{"not subscribed", []string{"--path", "/payments/9", "--header", bearer(payments)}, exitDenied, []string{
			"DENY 403\n", "reason       not_subscribed", `application "shop-web" is not subscribed to API "payments"`,
			"api          payments", "params       id=9", "application  shop-web",
		}},
		{"subscription blocked for production keys", []string{"--path", "/orders/7", "--header", bearer(reporting)}, exitDenied, []string{
			"DENY 403\n", "reason       not_subscribed", "prod_only_blocked for production keys", "application  reporting",
		}},
		{"insufficient scope", []string{"--method", "POST", "--path", "/orders", "--header", bearer(read)}, exitDenied, []string{
			"DENY 403\n", "reason       insufficient_scope", "description  the token lacks scope urn:acme:orders:write",
			`www-authenticate: Bearer error="insufficient_scope", scope="urn:acme:orders:write"`,
			"x-tollgate-decision-id: ", "application  shop-web", "resource     POST /orders",
		}},
		{"api from context extensions", []string{"--api", "payments", "--path", "/orders/7", "--header", bearer(read)}, exitDenied, []string{
			"DENY 404\n", "reason       no_matching_resource",
		}},
		{"confusing path out of a public prefix", []string{"--path", "/orders/docs//../42"}, exitDenied, []string{
			"DENY 400\n", "reason       invalid_request", "empty segment (//)", `www-authenticate: Bearer error="invalid_request"`,
			"token not verified: the request was refused before routing",
		}},
		{"encoded slash out of a public prefix", []string{"--path", "/orders/docs/..%2F42", "--header", bearer(read)}, exitDenied, []string{
			"DENY 400\n", "reason       invalid_request", "encoded slash (%2F)",
		}},
		{"host with a trailing dot", []string{"--path", "/orders/7", "--host", "API.acme.test.:443", "--header", bearer(read)}, exitOK, []string{
			"ALLOW\n", "api          orders",
		}},
		{"host that is not one", []string{"--path", "/orders/7", "--host", "api acme", "--header", bearer(read)}, exitDenied, []string{
			"DENY 400\n", "reason       invalid_request", "invalid request host",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := checkConfig(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\n%s%s", code, tt.code, out, stderr)
			}
			if stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, tok := range []string{read, payments, reporting, stranger, expired} {
				if strings.Contains(out, tok[strings.LastIndexByte(tok, '.'):]) {
					t.Errorf("output shows a token:\n%s", out)
				}
			}
		})
	}
}

// report is what check --config --json prints, decoded loosely.
type report struct {
	Allowed         *bool             `json:"allowed"`
	Status          int               `json:"status"`
	Reason          string            `json:"reason"`
	Description     string            `json:"description"`
	API             string            `json:"api"`
	Resource        string            `json:"resource"`
	Params          map[string]string `json:"params"`
	Application     string            `json:"application"`
	Headers         map[string]string `json:"headers"`
	HeadersToRemove []string          `json:"headers_to_remove"`
	Body            string            `json:"body"`
	Token           *struct {
		Issuer    string   `json:"issuer"`
		Iss       string   `json:"iss"`
		Subject   string   `json:"subject"`
		ClientID  string   `json:"client_id"`
		Scopes    []string `json:"scopes"`
		Audience  []string `json:"audience"`
		ExpiresAt string   `json:"expires_at"`
	} `json:"token"`
	TokenError *struct {
		Code        string `json:"code"`
		Reason      string `json:"reason"`
		Description string `json:"description"`
	} `json:"token_error"`
	DecisionID string `json:"decision_id"`
	Explain    *struct {
		Rules []struct {
			File    string `json:"file"`
			Line    int    `json:"line"`
			Rule    string `json:"rule"`
			Expr    string `json:"expr"`
			Decided bool   `json:"decided"`
		} `json:"rules"`
	} `json:"explain"`
}

func checkJSON(t *testing.T, wantCode int, args ...string) report {
	t.Helper()
	code, out, stderr := checkConfig(append(args, "--json")...)
	if code != wantCode {
		t.Fatalf("exit %d; want %d\n%s%s", code, wantCode, out, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r report
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not one report: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", out)
	}
	if r.Allowed == nil || r.DecisionID == "" {
		t.Fatalf("report lacks allowed or decision_id:\n%s", out)
	}
	return r
}

func TestCheckConfigJSON(t *testing.T) {
	read := demoToken(t, "shop-web-prod", "urn:acme:orders:read")

	r := checkJSON(t, exitOK, "--path", "/orders/7", "--header", bearer(read))
	if !*r.Allowed || r.Status != 200 || r.Reason != "allowed" || r.API != "orders" || r.Resource != "GET /orders/{id}" ||
		r.Params["id"] != "7" || r.Application != "shop-web" || r.Headers["x-tollgate-client-id"] != "shop-web-prod" ||
		r.Body != "" || r.TokenError != nil || r.Explain != nil {
		t.Errorf("allow report %+v", r)
	}
	tok := r.Token
	if tok == nil || tok.Issuer != "demo" || tok.Iss != demoIssuer || tok.Subject != "shop-web-prod" ||
		tok.ClientID != "shop-web-prod" || len(tok.Scopes) != 1 || tok.Scopes[0] != "urn:acme:orders:read" ||
		len(tok.Audience) != 1 || tok.Audience[0] != "api://acme" {
		t.Fatalf("token %+v", tok)
	}
	if exp, err := time.Parse(time.RFC3339, tok.ExpiresAt); err != nil || time.Until(exp) <= 0 || time.Until(exp) > time.Hour {
		t.Errorf("expires_at %q, %v; want RFC 3339 within the hour", tok.ExpiresAt, err)
	}

	r = checkJSON(t, exitOK, "--path", "/orders/docs/intro", "--header", "x-tollgate-application: forged")
	if r.Headers["x-tollgate-api"] != "orders" || len(r.Headers) != 1 || len(r.HeadersToRemove) == 0 {
		t.Errorf("public allow report %+v; want only x-tollgate-api set, the others removed", r)
	}

	r = checkJSON(t, exitDenied, "--method", "POST", "--path", "/orders", "--header", bearer(read))
	if *r.Allowed || r.Status != 403 || r.Reason != "insufficient_scope" || r.Application != "shop-web" ||
		r.Headers["x-tollgate-decision-id"] != r.DecisionID || r.HeadersToRemove != nil || r.Token == nil {
		t.Errorf("deny report %+v", r)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["error"] != "insufficient_scope" {
		t.Errorf("body %q: %v", r.Body, err)
	}

	r = checkJSON(t, exitDenied, "--path", "/orders/7", "--header", bearer(expiredToken(t)))
	if r.Status != 401 || r.Token != nil || r.TokenError == nil || *r.TokenError != (struct {
		Code        string `json:"code"`
		Reason      string `json:"reason"`
		Description string `json:"description"`
	}{"invalid_token", "token_expired", "the access token expired"}) {
		t.Errorf("expired token report %+v, token_error %+v", r, r.TokenError)
	}

	r = checkJSON(t, exitDenied, "--path", "/nowhere", "--explain")
	if r.API != "" || r.Resource != "" || r.Params != nil || r.Explain == nil || len(r.Explain.Rules) == 0 {
		t.Fatalf("no-route report %+v", r)
	}
	if first := r.Explain.Rules[0]; !first.Decided || first.Rule != "failure" || first.Expr != "not input.route" || first.Line < 1 {
		t.Errorf("no-route explanation starts with %+v; want the failure branch not input.route, decided", first)
	}
}

// decidedLine matches a "decided by" entry: file:line, rule, expression.
var decidedLine = regexp.MustCompile(`(?m)^decided by\n  (\S*authz\.rego):(\d+)\s+(\S+)\s+(.+)$`)

func TestCheckConfigExplain(t *testing.T) {
	src, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	read := demoToken(t, "shop-web-prod", "urn:acme:orders:read")
	tests := []struct {
		name       string
		args       []string
		code       int
		rule, expr string
		line       string // what the decisive line of authz.rego holds
	}{
		{"allow", []string{"--path", "/orders/7", "--header", bearer(read)}, exitOK, "decision", ":= allowed", "else := allowed"},
		{"deny", []string{"--method", "POST", "--path", "/orders", "--header", bearer(read)}, exitDenied,
			"access_failure", "count(missing_scopes) > 0", "else := f if {"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := checkConfig(append(tt.args, "--explain")...)
			if code != tt.code {
				t.Fatalf("exit %d; want %d\n%s%s", code, tt.code, out, stderr)
			}
			if !strings.Contains(out, "explain: rules that held, in the order they held\n  ../../policies/authz.rego:") {
				t.Errorf("no rule list:\n%s", out)
			}
			m := decidedLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no decided by:\n%s", out)
			}
			n, _ := strconv.Atoi(m[2])
			if m[3] != tt.rule || m[4] != tt.expr || n < 1 || n > len(lines) || !strings.Contains(lines[n-1], tt.line) {
				t.Errorf("decided by %s:%s %s %s; want %s %s at a line holding %q", m[1], m[2], m[3], m[4], tt.rule, tt.expr, tt.line)
			}
			if !strings.Contains(out, m[1]+":"+m[2]) {
				t.Errorf("the deciding rule is not in the list:\n%s", out)
			}
		})
	}
}

func TestCheckConfigUsageErrors(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "tollgate.yaml")
	if err := os.WriteFile(broken, []byte("policies: nowhere\ndata: nowhere.yaml\nissuers: []\nnope: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badPolicies := writeConfig(t, map[string]string{"authz.rego": "package tollgate.authz\n\ndecision := nope(1)\n"})
	tests := []struct {
		name string
		args []string
	}{
		{"config and server", []string{"check", "--config", exampleConfig, "--server", "127.0.0.1:9191"}},
		{"explain with server", []string{"check", "--server", "127.0.0.1:9191", "--explain"}},
		{"explain without config", []string{"check", "--explain"}},
		{"config file missing", []string{"check", "--config", "does-not-exist.yaml"}},
		{"config file invalid", []string{"check", "--config", broken}},
		{"policies that do not compile", []string{"check", "--config", badPolicies}},
		{"json with a missing config", []string{"check", "--config", "does-not-exist.yaml", "--json"}},
		{"unknown flag", []string{"check", "--config", exampleConfig, "--nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d; want %d\n%s%s", code, exitUsage, out, stderr)
			}
			if out != "" || stderr == "" {
				t.Errorf("stdout %q, stderr %q; want the error on stderr only", out, stderr)
			}
		})
	}
}

// writeConfig writes the quickstart configuration with its own policies directory,
// holding files (name -> source), and returns the configuration file's path.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	policies := filepath.Join(dir, "policies")
	if err := os.Mkdir(policies, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(policies, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	cfg := "policies: policies\n" +
		"data: " + filepath.Join(examples, "data.yaml") + "\n" +
		"issuers:\n" +
		"  - name: demo\n" +
		"    issuer: " + demoIssuer + "\n" +
		"    jwks_file: " + filepath.Join(examples, "demo-idp", "jwks.json") + "\n"
	path := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// With a jwks_uri issuer, the in-process check waits for the key set it fetches in
// the background, instead of denying with unknown_key.
func TestCheckConfigRemoteJWKS(t *testing.T) {
	key := tokentest.NewRSAKey(t, "remote-1")
	jwks := tokentest.NewJWKS(t, key)
	policies, err := filepath.Abs("../../policies")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := "policies: " + policies + "\n" +
		"data: " + filepath.Join(examples, "data.yaml") + "\n" +
		"issuers:\n" +
		"  - {name: demo, issuer: " + demoIssuer + ", jwks_uri: " + jwks.URL() + "}\n"
	path := filepath.Join(dir, "tollgate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := key.Sign(t, tokentest.Claims(demoIssuer, jwt.MapClaims{"client_id": "shop-web-prod", "scope": "urn:acme:orders:read"}), nil)
	code, out, stderr := runCmd("check", "--config", path, "--path", "/orders/7", "--host", "api.acme.test", "--header", bearer(tok))
	if code != exitOK || !strings.Contains(out, "ALLOW") {
		t.Errorf("check with a remote JWKS: exit %d\n%s\n%s", code, out, stderr)
	}
}

// --principal gives the policy the caller's mesh identity, as Envoy reports an mTLS
// peer; the example mesh policy, turned on the orders API, decides by it.
func TestCheckConfigPrincipal(t *testing.T) {
	shipped, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	mesh, err := os.ReadFile("../../examples/policies/mesh_identity.rego")
	if err != nil {
		t.Fatal(err)
	}
	onOrders := strings.Replace(string(mesh), `mesh_callers := {"payments": {`, `mesh_callers := {"orders": {`, 1)
	if onOrders == string(mesh) {
		t.Fatal("the example policy no longer lists payments in mesh_callers")
	}
	cfg := writeConfig(t, map[string]string{"authz.rego": string(shipped), "mesh_identity.rego": onOrders})
	read := demoToken(t, "shop-web-prod", "urn:acme:orders:read")
	tests := []struct {
		principal string
		code      int
		want      string
	}{
		{"spiffe://cluster.local/ns/shop/sa/web", exitOK, "ALLOW\n"},
		{"spiffe://cluster.local/ns/batch/sa/job", exitDenied, "workload spiffe://cluster.local/ns/batch/sa/job may not call API orders"},
		{"", exitDenied, "API orders accepts calls only from workloads of the mesh"},
	}
	for _, tt := range tests {
		t.Run(tt.principal, func(t *testing.T) {
			code, out, stderr := runCmd("check", "--config", cfg, "--path", "/orders/7", "--header", bearer(read), "--principal", tt.principal)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output:\n%s%s\nwant exit %d and %q", code, out, stderr, tt.code, tt.want)
			}
		})
	}
}
