package service_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/token/tokentest"
)

func TestHealthAndReflection(t *testing.T) {
	h := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
		waitFor(t, func() bool { return h.health(t, svc) == healthpb.HealthCheckResponse_SERVING })
	}
	stream, err := reflectionpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	if !strings.Contains(strings.Join(names, " "), "envoy.service.auth.v3.Authorization") {
		t.Errorf("reflection lists %v; want the Authorization service", names)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get("http://" + h.svc.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s = %d %q %s", path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
}

// A check in flight when SIGTERM arrives gets its answer; new checks are refused.
func TestShutdownDrainsInFlightChecks(t *testing.T) {
	h := start(t)
	h.stsJWKS.SetDelay(150 * time.Millisecond)
	before := h.stsJWKS.Hits()
	// A kid the STS has not published makes the check wait for a JWKS refresh.
	rotated := tokentest.NewRSAKey(t, "sts-2")
	tok := rotated.Sign(t, tokentest.Claims(stsIss, jwt.MapClaims{"client_id": "web-sts", "aud": stsAudience}), nil)
	type result struct {
		resp *authv3.CheckResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := h.client.Check(context.Background(), request("GET", "/orders/1", bearer(tok)...))
		done <- result{resp, err}
	}()
	waitFor(t, func() bool { return h.stsJWKS.Hits() > before })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.svc.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("in-flight check failed: %v", r.err)
	}
	assertDenied(t, r.resp, invalidToken("the token signing key (kid) is not in its issuer's key set"))
	if _, err := h.client.Check(ctx, request("GET", "/orders/1")); err == nil {
		t.Error("a check after shutdown succeeded")
	}
	h.svc = nil
}

// A policy that fails while it evaluates denies with 500; it never allows.
func TestPolicyErrorDenies(t *testing.T) {
	dir := t.TempDir()
	policy := `package tollgate.authz

decision := {"allowed": true, "headers": {"x-n": sprintf("%d", [to_number(input.attributes.request.http.headers["x-n"])])}}
`
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startWith(t, func(c *config.Config) { c.Policies = dir })
	resp := h.check(t, request("GET", "/orders/1", "x-n", "not a number"))
	assertDenied(t, resp, deny{500, codes.Internal, "internal_error", "", "decision failed"})
	if !strings.Contains(h.logs.String(), "policy evaluation failed") {
		t.Error("the log does not say why the check was denied")
	}
	if resp := h.check(t, request("GET", "/orders/1", "x-n", "7")); resp.GetOkResponse() == nil {
		t.Errorf("a good input was denied: %v", resp.GetDeniedResponse().GetBody())
	}
}

// A decision with a header Envoy would refuse is turned into a deny.
func TestUnsendableDecisionDenies(t *testing.T) {
	dir := t.TempDir()
	policy := `package tollgate.authz

decision := {"allowed": true, "headers": {"x-bad": "a\r\nb"}}
`
	if err := os.WriteFile(filepath.Join(dir, "authz.rego"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startWith(t, func(c *config.Config) { c.Policies = dir })
	assertDenied(t, h.check(t, request("GET", "/orders/1")), deny{500, codes.Internal, "internal_error", "", "decision failed"})
}

// health is the gRPC health status of svc.
func (h *harness) health(t *testing.T, svc string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("gRPC health %q: %v", svc, err)
	}
	return resp.GetStatus()
}

// waitFor polls cond for up to 10 s: tests wait for background work this way, never
// for a fixed time.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
