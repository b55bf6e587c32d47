package authz

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/tollgate/tollgate/authz/config"
)

// quickstartServer serves the quickstart configuration in process.
func quickstartServer(tb testing.TB, cacheSize int) *Server {
	tb.Helper()
	cfg, err := config.Load("../examples/gitops.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	cfg.TokenCache.Size = cacheSize
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := LoadState(context.Background(), cfg, log, nil, Sources{})
	if err != nil {
		tb.Fatal(err)
	}
	return NewServer(st, log, LogNone)
}

// demoToken mints a quickstart token with the CLI's own code path.
func demoToken(tb testing.TB, scope string) string {
	tb.Helper()
	out, err := exec.Command("go", "run", "../cmd/tollgate", "token",
		"--sign-with", "../examples/demo-idp/private-key.pem", "--kid", "demo-1",
		"--issuer", "https://demo-idp.tollgate.invalid/oauth2/token",
		"--client-id", "shop-web-prod", "--scope", scope).Output()
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func checkRequest(method, path, tok string) *authv3.CheckRequest {
	h := map[string]string{":method": method, ":path": path, ":authority": "api.acme.test",
		"user-agent": "bench", "x-request-id": "0f6b3c52-7f0e-4a7e-9a53-3c1d2a9b8e11"}
	if tok != "" {
		h["authorization"] = "Bearer " + tok
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Host: "api.acme.test", Headers: h}}}}
}

// BenchmarkCheck measures a whole Check in process, without gRPC transport.
func BenchmarkCheck(b *testing.B) {
	tok := demoToken(b, "urn:acme:orders:read")
	cases := []struct {
		name  string
		cache int
		req   *authv3.CheckRequest
		want  codes.Code
	}{
		{"allow/cached-token", 10000, checkRequest("GET", "/orders/42", tok), codes.OK},
		{"allow/token-never-seen", 0, checkRequest("GET", "/orders/42", tok), codes.OK},
		{"deny/insufficient-scope", 10000, checkRequest("POST", "/orders", tok), codes.PermissionDenied},
		{"deny/bad-signature", 10000, checkRequest("GET", "/orders/42", tok[:len(tok)-4]+"AAAA"), codes.Unauthenticated},
		{"allow/public", 10000, checkRequest("GET", "/orders/docs/a", ""), codes.OK},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := quickstartServer(b, c.cache)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				resp, _ := s.Check(ctx, c.req)
				if got := codes.Code(resp.GetStatus().GetCode()); got != c.want {
					b.Fatalf("status %v; want %v", got, c.want)
				}
			}
		})
	}
}
