package authz

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/route"
)

// quickstartServer serves the quickstart configuration in process.
func quickstartServer(tb testing.TB, cacheSize int) *Server {
	tb.Helper()
	return quickstartServerWith(tb, cacheSize, "")
}

// unmemoizedRule, added to the shipped policy, reads a header: decisions are no
// longer memoized, and every check builds the input and evaluates the policy, as a
// memo miss does.
const unmemoizedRule = "package tollgate.authz\n\ndeny contains \"x-block\" if input.attributes.request.http.headers[\"x-block\"]\n"

// quickstartServerWith serves the quickstart configuration with the shipped policy
// and, unless empty, one more policy file, extra.
func quickstartServerWith(tb testing.TB, cacheSize int, extra string) *Server {
	tb.Helper()
	cfg, err := config.Load("../examples/gitops.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	if extra != "" {
		cfg.Policies = tb.TempDir()
		for name, src := range map[string]string{"authz.rego": readPolicy(tb), "extra.rego": extra} {
			if err := os.WriteFile(filepath.Join(cfg.Policies, name), []byte(src), 0o600); err != nil {
				tb.Fatal(err)
			}
		}
	}
	cfg.TokenCache.Size = cacheSize
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := LoadState(context.Background(), cfg, log, nil, Sources{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := NewServer(st, log, LogNone)
	if memoized := srv.State().Policy.Memo() != nil; memoized != (extra == "") {
		tb.Fatalf("memoized %v with extra policy %q", memoized, extra)
	}
	return srv
}

func readPolicy(tb testing.TB) string {
	tb.Helper()
	b, err := os.ReadFile("../policies/authz.rego")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
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

// BenchmarkCheck measures a whole Check in process, without gRPC transport. With the
// shipped policy, decisions are memoized: after the first iteration every case is a
// memo hit. The memo-off cases add a rule that reads a header, so the policy is
// evaluated on every check: what a memo miss costs.
func BenchmarkCheck(b *testing.B) {
	tok := demoToken(b, "urn:acme:orders:read")
	cases := []struct {
		name  string
		cache int
		extra string
		req   *authv3.CheckRequest
		want  codes.Code
	}{
		{"allow/cached-token", 10000, "", checkRequest("GET", "/orders/42", tok), codes.OK},
		{"allow/token-never-seen", 0, "", checkRequest("GET", "/orders/42", tok), codes.OK},
		{"deny/insufficient-scope", 10000, "", checkRequest("POST", "/orders", tok), codes.PermissionDenied},
		{"deny/bad-signature", 10000, "", checkRequest("GET", "/orders/42", tok[:len(tok)-4]+"AAAA"), codes.Unauthenticated},
		{"allow/public", 10000, "", checkRequest("GET", "/orders/docs/a", ""), codes.OK},
		{"allow/cached-token/memo-off", 10000, unmemoizedRule, checkRequest("GET", "/orders/42", tok), codes.OK},
		{"allow/token-never-seen/memo-off", 0, unmemoizedRule, checkRequest("GET", "/orders/42", tok), codes.OK},
		{"deny/insufficient-scope/memo-off", 10000, unmemoizedRule, checkRequest("POST", "/orders", tok), codes.PermissionDenied},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			s := quickstartServerWith(b, c.cache, c.extra)
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

// BenchmarkCheckParallel measures memo hits from as many goroutines as GOMAXPROCS:
// the memo, the token cache and the router take no lock that checks wait on.
func BenchmarkCheckParallel(b *testing.B) {
	tok := demoToken(b, "urn:acme:orders:read")
	s := quickstartServer(b, 10000)
	req := checkRequest("GET", "/orders/42", tok)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if resp, _ := s.Check(context.Background(), req); resp.GetOkResponse() == nil {
				b.Error("denied")
				return
			}
		}
	})
}

// BenchmarkMemoKey measures making the key a memoized decision is looked up by.
func BenchmarkMemoKey(b *testing.B) {
	r := newRequest(envoyRequest())
	e := Evaluation{Routed: true, Identity: benchIdentity(b),
		Match: route.Match{API: "orders", Resource: "GET /orders/{id}", Path: "/orders/42", Params: map[string]string{"id": "42"}}}
	reads := policy.InputReads{Claims: []string{"aud"}}
	b.ReportAllocs()
	for b.Loop() {
		var buf [512]byte
		if _, ok := memoKey(buf[:0], reads, r, &e); !ok {
			b.Fatal("no key")
		}
	}
}
