package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/service"
)

const (
	demoKey    = "../../examples/demo-idp/private-key.pem"
	demoIssuer = "https://demo-idp.tollgate.invalid/oauth2/token"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// quickstart is examples/config.yaml running as `make run` runs it, with the store in
// a temporary directory.
type quickstart struct {
	config   string            // the copy of examples/config.yaml
	grpc     string            // gRPC address
	http     string            // HTTP address
	admin    string            // admin API address
	imported string            // what `tollgate import --credentials` printed
	creds    map[string]string // "application/environment" → "client_id:client_secret"
}

// quickstartConfig copies examples/config.yaml into a temporary directory, with every
// path made absolute and the store moved there.
func quickstartConfig(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Abs("../../examples")
	dir := t.TempDir()
	s := string(raw)
	for from, to := range map[string]string{
		"path: ../var/tollgate.db": "path: " + filepath.Join(dir, "var", "tollgate.db"),
		"policies: ../policies":    "policies: " + filepath.Join(examples, "..", "policies"),
		"jwks_file: demo-idp/":     "jwks_file: " + examples + "/demo-idp/",
	} {
		if !strings.Contains(s, from) {
			t.Fatalf("examples/config.yaml no longer has %q", from)
		}
		s = strings.ReplaceAll(s, from, to)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var credentialLine = regexp.MustCompile(`application=(\S+) environment=(\S+) client_id=(\S+) client_secret=(\S+)`)

// startQuickstart does what `make run` does, on free ports: import the example data
// with new STS credentials, then serve.
func startQuickstart(t *testing.T) *quickstart {
	t.Helper()
	return startQuickstartWith(t, nil)
}

// startQuickstartWith lets a test change the configuration before the server starts.
func startQuickstartWith(t *testing.T, edit func(*config.Config)) *quickstart {
	t.Helper()
	q := &quickstart{config: quickstartConfig(t), creds: map[string]string{}}
	code, out, stderr := runCmd("import", "--config", q.config, "--credentials", "../../examples/data.yaml")
	if code != exitOK {
		t.Fatalf("import: exit %d: %s", code, stderr)
	}
	q.imported = out
	for _, m := range credentialLine.FindAllStringSubmatch(out, -1) {
		q.creds[m[1]+"/"+m[2]] = m[3] + ":" + m[4]
	}
	cfg, err := config.Load(q.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPC.Address, cfg.HTTP.Address, cfg.Admin.Address, cfg.Check.Address = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if edit != nil {
		edit(cfg)
	}
	svc, err := service.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Shutdown(ctx)
	})
	q.grpc, q.http, q.admin = svc.GRPCAddr(), svc.HTTPAddr(), svc.AdminAddr()
	return q
}

// TestQuickstart follows the README's demo: mint a demo token, then allow and deny.
func TestQuickstart(t *testing.T) {
	addr := startQuickstart(t).grpc
	code, tok, stderr := runCmd("token", "--sign-with", demoKey, "--kid", "demo-1", "--issuer", demoIssuer,
		"--client-id", "shop-web-prod", "--scope", "urn:acme:orders:read")
	if code != exitOK {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	auth := "authorization: Bearer " + strings.TrimSpace(tok)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"allow", []string{"--path", "/orders/42", "--header", auth}, exitOK,
			[]string{"ALLOW", "set    x-tollgate-application: shop-web", "set    x-tollgate-client-id: shop-web-prod"}},
		{"insufficient scope", []string{"--method", "POST", "--path", "/orders", "--header", auth}, exitDenied,
			[]string{"DENY 403 PermissionDenied", `Bearer error="insufficient_scope", scope="urn:acme:orders:write"`, `"error":"insufficient_scope"`}},
		{"missing token", []string{"--path", "/orders/42"}, exitDenied, []string{"DENY 401 Unauthenticated", `"error":"missing_token"`}},
		{"public", []string{"--path", "/orders/docs/intro"}, exitOK, []string{"ALLOW", "x-tollgate-api: orders"}},
		{"no resource", []string{"--path", "/nowhere"}, exitDenied, []string{"DENY 404 NotFound"}},
		{"json", []string{"--path", "/orders/42", "--header", auth, "--json"}, exitOK, []string{`"okResponse"`, `"decision_id"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCmd(append([]string{"check", "--server", addr}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d; want %d\n%s%s", code, tt.wantCode, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no command", nil, exitUsage},
		{"help", []string{"help"}, exitOK},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"unknown flag", []string{"serve", "--nope"}, exitUsage},
		{"extra argument", []string{"version", "extra"}, exitUsage},
		{"command help", []string{"check", "-h"}, exitOK},
		{"serve with a missing config", []string{"serve", "--config", "does-not-exist.yaml"}, exitUsage},
		{"token without key", []string{"token", "--issuer", "i", "--client-id", "c"}, exitUsage},
		{"token with a bad key file", []string{"token", "--sign-with", "main.go", "--issuer", "i", "--client-id", "c"}, exitUsage},
		{"check with nothing listening", []string{"check", "--server", "127.0.0.1:1", "--timeout", "2s"}, exitUsage},
		{"bad header flag", []string{"check", "--header", "no-colon"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out, stderr := runCmd(tt.args...); code != tt.want {
				t.Errorf("exit %d; want %d\n%s%s", code, tt.want, out, stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd("version")
	if code != exitOK || !strings.HasPrefix(out, "tollgate ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestTokenClaims(t *testing.T) {
	code, out, stderr := runCmd("token", "--sign-with", demoKey, "--kid", "demo-1", "--issuer", demoIssuer,
		"--client-id", "c1", "--scope", "a b", "--aud", "api", "--ttl", "5m")
	if code != exitOK {
		t.Fatal(stderr)
	}
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(strings.TrimSpace(out), claims)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Header["typ"] != "at+jwt" || tok.Header["kid"] != "demo-1" || tok.Method.Alg() != "RS256" {
		t.Errorf("header %v", tok.Header)
	}
	exp, _ := claims.GetExpirationTime()
	if claims["iss"] != demoIssuer || claims["client_id"] != "c1" || claims["sub"] != "c1" ||
		claims["scope"] != "a b" || claims["aud"] != "api" || time.Until(exp.Time) > 5*time.Minute {
		t.Errorf("claims %v", claims)
	}
}

// The demo JWKS must publish the public half of the demo private key.
func TestDemoKeyPairMatches(t *testing.T) {
	key, _, err := readPrivateKey(demoKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../examples/demo-idp/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	store, err := set.ToStorage()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := store.KeyRead(context.Background(), "demo-1")
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := jwk.Key().(*rsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		t.Error("examples/demo-idp/jwks.json does not hold the public key of private-key.pem")
	}
}
